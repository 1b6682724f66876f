"""The training pages (mounted at /training/); the REST API lives in training.urls."""

from django.urls import path

from . import views

app_name = "training"

urlpatterns = [
    path("", views.SessionListView.as_view(), name="list"),
    path("new/", views.NewSessionView.as_view(), name="new"),
    path("<int:session_id>/", views.SessionDetailView.as_view(), name="detail"),
    path("<int:session_id>/record/", views.RecordView.as_view(), name="record"),
    path("<int:session_id>/export/", views.ExportView.as_view(), name="export"),
    path("<int:session_id>/video/", views.UploadVideoView.as_view(), name="upload-video"),
]
