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


# --- video analyses ----------------------------------------------------------------------------

ANALYSIS_CHART = {"width": 600, "height": 220, "top": 12, "right": 8, "bottom": 26, "left": 36}
ANALYSIS_STATUS_BADGES = {"queued": "warning", "processing": "info", "completed": "success", "failed": "danger"}


def analysis_chart(series: list[dict]) -> dict:
    """The score time series as inline SVG geometry (viewBox 0 0 600 220): x from `t`, y from the
    0–100 score; samples without a score (no person) break the line into segments."""
    c = ANALYSIS_CHART
    plot_w = c["width"] - c["left"] - c["right"]
    plot_h = c["height"] - c["top"] - c["bottom"]
    times = [float(sample.get("t") or 0.0) for sample in series]
    t_max = max(times, default=0.0) or 1.0

    def x(t: float) -> float:
        return round(c["left"] + plot_w * t / t_max, 1)

    def y(score: float) -> float:
        return round(c["top"] + plot_h * (1 - max(0.0, min(100.0, float(score))) / 100), 1)

    segments, current, dots = [], [], []
    for t, sample in zip(times, series, strict=True):
        score = sample.get("score")
        if score is None:
            if current:
                segments.append(current)
            current = []
            continue
        point = {"x": x(t), "y": y(score), "t": t, "score": score}
        current.append(point)
        dots.append(point)
    if current:
        segments.append(current)
    grid = [{"y": round(c["top"] + plot_h * (1 - k / 4), 1), "label": f"{25 * k}"} for k in range(5)]
    for line in grid:
        line["text_y"] = round(line["y"] + 4, 1)
    ticks = [{"x": x(t_max * k / 4), "label": f"{t_max * k / 4:.0f} s"} for k in range(5)] if series else []
    return {
        **c,
        "x_end": c["width"] - c["right"],
        "label_y": c["height"] - 8,
        "label_x": c["left"] - 6,
        "grid": grid,
        "ticks": ticks,
        "lines": [" ".join(f"{p['x']},{p['y']}" for p in segment) for segment in segments if len(segment) > 1],
        "dots": dots,
        "points": len(dots),
    }


def _analysis_list_context(request, **extra) -> dict:
    from .models import PostureAnalysis

    analyses = list(PostureAnalysis.objects.filter(user=request.user).order_by("-created_at", "-id")[:100])
    for analysis in analyses:
        analysis.badge = ANALYSIS_STATUS_BADGES.get(analysis.status, "info")
        analysis.mean_score = (analysis.summary or {}).get("mean_score")
    return {"analyses": analyses, "errors": [], "text": "", **extra}


@method_decorator(never_cache, name="dispatch")
class PostureAnalysesView(LoginRequiredMixin, View):
    """The signed-in user's video analyses, newest first, and a form to upload a video for analysis."""

    def get(self, request):
        return render(request, "posture/analyses.html", _analysis_list_context(request))

    def post(self, request):
        from django.core.exceptions import ValidationError
        from django.shortcuts import redirect

        from .services import create_analysis

        text = request.POST.get("text", "").strip()
        video = request.FILES.get("video")
        if video is None:
            errors = ["Choose a video file to analyse."]
        else:
            try:
                analysis = create_analysis(user=request.user, text=text, video=video)
            except ValidationError as exc:
                errors = [message for messages in exc.message_dict.values() for message in messages] \
                    if hasattr(exc, "error_dict") else list(exc.messages)
            else:
                return redirect("posture:analysis-detail", pk=analysis.pk)
        return render(request, "posture/analyses.html",
                      _analysis_list_context(request, errors=errors, text=text), status=400)


@method_decorator(never_cache, name="dispatch")
class PostureAnalysisDetailView(LoginRequiredMixin, View):
    """One analysis: the summary figures, the issues, and the score over time (drawn on the server)."""

    def get(self, request, pk: int):
        from django.shortcuts import get_object_or_404

        from .models import PostureAnalysis

        analysis = get_object_or_404(PostureAnalysis, pk=pk, user=request.user)
        summary = analysis.summary or {}
        issues = [{**issue, "percent": round(100 * float(issue.get("share") or 0), 1)}
                  for issue in summary.get("issues", [])]
        return render(request, "posture/analysis_detail.html", {
            "analysis": analysis,
            "badge": ANALYSIS_STATUS_BADGES.get(analysis.status, "info"),
            "summary": summary,
            "issues": issues,
            "progress_percent": round(100 * float(analysis.progress or 0)),
            "chart": analysis_chart(analysis.series or []),
        })
