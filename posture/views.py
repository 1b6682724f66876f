"""Server-rendered posture and yoga pages: live posture from the camera, yoga practice against a
catalogue pose, and the practice dashboard.

The pages are shells: the live parts run in static/js/posture-live.js (camera → the live posture
socket → keypoints, score and issues), static/js/yoga-practice.js (camera → the pose analysis API →
accuracy and feedback, then a practice session saved through the API) and
static/js/yoga-dashboard.js (statistics, charts, per-pose table and recent sessions from the API).
Practice is personal, so the pages need a signed-in user but no organisation.
"""

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from . import geometry, selectors
from .serializers import YogaPoseSerializer

POSTURE_SOCKET_PATH = "/ws/v1/posture/{model}/"
YOGA_API_ROOT = "/api/v1/yoga/"
# Pictures sent to the pose analysis API per second while practising (the API decodes and runs the
# model per request; faster gives no steadier feedback).
YOGA_ANALYSES_PER_SECOND = 1.5
DASHBOARD_DAYS = 30


@method_decorator(never_cache, name="dispatch")
class PostureLiveView(LoginRequiredMixin, View):
    """Live posture: the camera's pictures go to the posture socket; the score and issues come back."""

    def get(self, request):
        model = settings.DEFAULT_POSE_MODEL
        config = {
            "socketPath": POSTURE_SOCKET_PATH.format(model=model),
            "model": model,
            "keypointNames": list(geometry.KEYPOINT_NAMES),
            "bones": [list(bone) for bone in geometry.BONES],
            "minScore": geometry.MIN_SCORE,
        }
        return render(request, "posture/live.html", {"posture_config": config})


@method_decorator(never_cache, name="dispatch")
class YogaPracticeView(LoginRequiredMixin, View):
    """Yoga practice: choose a pose, hold it in front of the camera, see the accuracy, save the session."""

    def get(self, request):
        poses = [YogaPoseSerializer(pose).data for pose in selectors.poses()]
        config = {
            "apiRoot": YOGA_API_ROOT,
            "poses": poses,
            "analysesPerSecond": YOGA_ANALYSES_PER_SECOND,
            "keypointNames": list(geometry.KEYPOINT_NAMES),
            "bones": [list(bone) for bone in geometry.BONES],
            "minScore": geometry.MIN_SCORE,
            "dashboardUrl": reverse("posture:yoga-dashboard"),
        }
        return render(request, "posture/yoga_practice.html",
                      {"poses": poses, "yoga_config": config})


@method_decorator(never_cache, name="dispatch")
class YogaDashboardView(LoginRequiredMixin, View):
    """The practice dashboard: streak and this week's figures, charts, per-pose results, recent sessions."""

    def get(self, request):
        stats = selectors.practice_stats(request.user, days=DASHBOARD_DAYS)
        config = {"apiRoot": YOGA_API_ROOT, "days": DASHBOARD_DAYS}
        return render(request, "posture/yoga_dashboard.html", {"stats": stats, "dashboard_config": config})
