"""The robot pages (mounted at /robots/); the REST API lives in robots.urls."""

from django.urls import path

from . import views

app_name = "robots"

urlpatterns = [
    path("", views.RobotListView.as_view(), name="list"),
    path("register/", views.RegisterRobotView.as_view(), name="register"),
    path("<int:robot_id>/", views.RobotConsoleView.as_view(), name="console"),
]
