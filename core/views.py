from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .health import run_checks


@never_cache
@require_GET
def health(request):
    """Each configured part's state; 503 when any of them fails, so a load balancer can tell."""
    report = run_checks()
    return JsonResponse(report, status=200 if report["status"] == "healthy" else 503)


def home(request):
    return redirect("core:dashboard" if request.user.is_authenticated else "accounts:login")


@login_required
def dashboard(request):
    return render(request, "core/dashboard.html")
