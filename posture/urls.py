from django.urls import path

from . import api

poses = api.YogaPoseViewSet
sessions = api.PracticeSessionViewSet

api_urlpatterns = [
    path("posture/models", api.PoseModelsView.as_view(), name="posture-models"),
    path("posture/analyze", api.PostureAnalyzeView.as_view(), name="posture-analyze"),
    path("posture/analyses", api.PostureAnalysisViewSet.as_view({"get": "list", "post": "create"}),
         name="posture-analysis-list"),
    path("posture/analyses/<int:pk>", api.PostureAnalysisViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
         name="posture-analysis-detail"),
    path("yoga/poses", poses.as_view({"get": "list"}), name="yoga-pose-list"),
    path("yoga/poses/<str:name>", poses.as_view({"get": "retrieve"}), name="yoga-pose-detail"),
    path("yoga/analyze", api.YogaRecogniseView.as_view(), name="yoga-recognise"),
    path("yoga/analyze/<str:pose_name>", api.YogaAnalyzeView.as_view(), name="yoga-analyze"),
    path("yoga/batch-analyze", api.YogaBatchAnalyzeView.as_view(), name="yoga-batch-analyze"),
    path("yoga/sessions", sessions.as_view({"get": "list", "post": "create"}), name="yoga-session-list"),
    path("yoga/sessions/stats", sessions.as_view({"get": "stats"}), name="yoga-session-stats"),
    path("yoga/sessions/<int:pk>", sessions.as_view({"get": "retrieve", "put": "update", "delete": "destroy"}),
         name="yoga-session-detail"),
    path("yoga/analytics/summary", sessions.as_view({"get": "summary"}), name="yoga-analytics-summary"),
]
