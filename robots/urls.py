from django.urls import path

from . import api

robots = api.RobotViewSet
connections = api.ConnectionViewSet
commands = api.CommandViewSet

api_urlpatterns = [
    path("robots/", robots.as_view({"get": "list", "post": "create"}), name="robot-list"),
    path("robots/models", api.RobotModelListView.as_view(), name="robot-models"),
    path("robots/connect", api.ConnectView.as_view(), name="robot-connect"),
    path("robots/connections/", connections.as_view({"get": "list"}), name="robot-connection-list"),
    path("robots/connections/<int:pk>", connections.as_view({"get": "retrieve", "delete": "destroy"}),
         name="robot-connection-detail"),
    path("robots/connections/<int:pk>/state", connections.as_view({"get": "state"}), name="robot-connection-state"),
    path("robots/commands", commands.as_view({"get": "list", "post": "create"}), name="robot-command-list"),
    path("robots/commands/<int:pk>", commands.as_view({"get": "retrieve"}), name="robot-command-detail"),
    path("robots/<int:pk>/", robots.as_view({"get": "retrieve"}), name="robot-detail"),
]
