"""Staff-only analytics pages (served under /admin/analytics/), for a chosen range of weeks
(``?from=YYYY-MM-DD&to=YYYY-MM-DD``; by default the last 12)."""

from __future__ import annotations

import csv
from datetime import timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .analytics import (
    AnalyticsRangeError,
    analytics_charts,
    analytics_overview,
    analytics_range_parse,
    analytics_window,
    weekly_csv_rows,
    weekly_stats,
)


def _chosen_range(request: HttpRequest):
    return analytics_range_parse(request.GET.get("from"), request.GET.get("to"))


@require_safe
@never_cache
@staff_member_required
def analytics(request: HttpRequest) -> HttpResponse:
    error, status = "", 200
    try:
        start, end = _chosen_range(request)
    except AnalyticsRangeError as refused:
        (start, end), error, status = analytics_window(), str(refused), 400
    overview = analytics_overview(start=start, end=end)
    context = {
        "overview": overview,
        "charts": analytics_charts(overview),
        "range_error": error,
        "range_from": start.date().isoformat(),
        "range_to": overview.last_day.isoformat(),
    }
    return render(request, "mentoring/analytics.html", context, status=status)


@require_safe
@never_cache
@staff_member_required
def analytics_csv(request: HttpRequest) -> HttpResponse:
    try:
        start, end = _chosen_range(request)
    except AnalyticsRangeError as refused:
        return HttpResponse(f"{refused}\n", status=400, content_type="text/plain; charset=utf-8")
    first_day, last_day = start.date(), (end - timedelta(days=1)).date()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"peerlearn-analytics-{first_day.isoformat()}-to-{last_day.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    csv.writer(response).writerows(weekly_csv_rows(weekly_stats(start=start, end=end)))
    return response
