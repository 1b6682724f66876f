"""The bare baseline view: a plain Django view answering fixed bytes, for side-by-side figures."""

import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import HandPoseRow


@cache
def _bare_body() -> bytes:
    # Read on the first call, not at import: the benchmark writes the file after the server is up.
    return Path(settings.BENCH_BARE_BODY_PATH).read_bytes()


def bare(request):
    """The bytes of BENCH_BARE_BODY_PATH as application/json: no DRF, no auth, no database."""
    return HttpResponse(_bare_body(), content_type="application/json")


@csrf_exempt
@require_POST
def handpose_rows(request, session_id: int):
    """The baseline for frame ingest: the same JSON batch stored as one ORM row per landmark (bulk
    inserted, the best that design allows), with the same all-or-nothing transaction."""
    payload = json.loads(request.body)
    rows = []
    for frame_index, frame in enumerate(payload["frames"]):
        for hand, seen in frame["hands"].items():
            if not seen:
                continue
            for landmark, (x, y, z) in enumerate(seen["landmarks"]):
                rows.append(HandPoseRow(session_id=session_id, episode=0, frame_index=frame_index, timestamp=frame["t"],
                                        hand=hand, landmark=landmark, x=x, y=y, z=z, score=seen.get("score", 1.0)))
    with transaction.atomic():
        HandPoseRow.objects.bulk_create(rows, batch_size=5000)
    return JsonResponse({"rows": len(rows)}, status=201)
