"""Every URL of config.urls plus the bench-only baseline view (ROOT_URLCONF in config.settings.bench)."""

from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401 (same error pages)
from config.urls import urlpatterns as project_urlpatterns

from . import views

urlpatterns = [
    *project_urlpatterns,
    path("bench/bare", views.bare, name="bench-bare"),
    path("bench/handpose-rows/<int:session_id>", views.handpose_rows, name="bench-handpose-rows"),
]
