"""The posture and yoga pages (mounted at the site root); the REST API lives
in posture.urls and the live socket in config.routing."""

from django.urls import path

from . import views

app_name = "posture"

urlpatterns = [
    path("posture/", views.PostureLiveView.as_view(), name="live"),
    path("yoga/", views.YogaPracticeView.as_view(), name="yoga-practice"),
    path("yoga/dashboard/", views.YogaDashboardView.as_view(), name="yoga-dashboard"),
    path("posture/analyses/", views.PostureAnalysesView.as_view(), name="analyses"),
    path("posture/analyses/<int:pk>/", views.PostureAnalysisDetailView.as_view(), name="analysis-detail"),
]
