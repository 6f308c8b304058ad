from __future__ import annotations

from django.http import HttpRequest, HttpResponse


def bench_trivial(request: HttpRequest) -> HttpResponse:
    """The benchmark's reference point: Django with no database and no template."""
    return HttpResponse(b"ok", content_type="text/plain")
