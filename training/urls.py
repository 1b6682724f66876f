from django.urls import path

from . import api

sessions = api.TrainingSessionViewSet
exports = api.DatasetExportViewSet

api_urlpatterns = [
    path("training/sessions", sessions.as_view({"get": "list", "post": "create"}), name="training-session-list"),
    path("training/sessions/<int:pk>", sessions.as_view({"get": "retrieve", "patch": "partial_update",
                                                         "delete": "destroy"}), name="training-session-detail"),
    path("training/sessions/<int:pk>/gestures", sessions.as_view({"post": "gestures"}), name="training-gestures"),
    path("training/sessions/<int:pk>/video", sessions.as_view({"post": "video"}), name="training-video"),
    path("training/sessions/<int:pk>/export/lerobot", sessions.as_view({"get": "export", "post": "export"}),
         name="training-export"),
    path("training/sessions/<int:pk>/episodes/<int:index>/frames", sessions.as_view({"get": "frames"}),
         name="training-episode-frames"),
    path("training/sessions/<int:pk>/episodes/<int:index>/timeline", sessions.as_view({"get": "timeline"}),
         name="training-episode-timeline"),
    path("training/sessions/<int:pk>/episodes/<int:index>/labels", sessions.as_view({"post": "label"}),
         name="training-episode-labels"),
    path("training/exports", exports.as_view({"get": "list"}), name="training-export-list"),
    path("training/exports/<int:pk>", exports.as_view({"get": "retrieve"}), name="training-export-detail"),
    path("training/exports/<int:pk>/download", exports.as_view({"get": "download"}), name="training-export-download"),
]
