"""The bare baseline view: a plain Django view answering fixed bytes, for side-by-side figures."""

from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse


@cache
def _bare_body() -> bytes:
    # Read on the first call, not at import: the benchmark writes the file after the server is up.
    return Path(settings.BENCH_BARE_BODY_PATH).read_bytes()


def bare(request):
    """The bytes of BENCH_BARE_BODY_PATH as application/json: no DRF, no auth, no database."""
    return HttpResponse(_bare_body(), content_type="application/json")
