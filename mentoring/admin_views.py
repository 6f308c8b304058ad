"""Staff-only analytics pages (served under /admin/analytics/)."""

from __future__ import annotations

import csv
from datetime import timedelta

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .analytics import analytics_charts, analytics_overview, analytics_window, weekly_csv_rows, weekly_stats


@require_safe
@never_cache
@staff_member_required
def analytics(request: HttpRequest) -> HttpResponse:
    overview = analytics_overview()
    context = {"overview": overview, "charts": analytics_charts(overview)}
    return render(request, "mentoring/analytics.html", context)


@require_safe
@never_cache
@staff_member_required
def analytics_csv(request: HttpRequest) -> HttpResponse:
    start, end = analytics_window()
    last_day = (end - timedelta(days=1)).date()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="peerlearn-analytics-{last_day.isoformat()}.csv"'
    csv.writer(response).writerows(weekly_csv_rows(weekly_stats(start=start, end=end)))
    return response
