"""``{% load safe_dates %}`` then ``{{ session.starts_at|safe_date:"D j M, H:i" }}`` or
``{% local_time session.starts_at "D j M, H:i" %}``.

Django's ``date`` filter converts to the viewer's zone before it is called, and that conversion
raises ``OverflowError`` for instants near the year 1 or 9999. ``safe_date`` converts itself with
``portal.dates.safe_localtime`` (UTC on overflow; format ``T`` then says "UTC"), so a date someone
else stored cannot break the page. Use it for every stored date a page shows.

A format that names the month but not the year gets the year when the date is not in this year
(``portal.dates.format_with_year``): "Thu 1 Jan" for this January, "Thu 1 Jan 2099" otherwise.

``local_time`` writes the same text inside ``<time datetime="...">``. Signed-out visitors have no
zone of their own, so their page is rendered in UTC and also carries the format: ``local-times.js``
then writes the time again in the browser's zone. Signed-in people see their profile's zone, from
the server.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import template
from django.template.defaultfilters import date as date_filter
from django.utils import timezone
from django.utils.html import format_html

from portal.dates import format_with_year, safe_localtime

register = template.Library()


@register.filter(expects_localtime=False, is_safe=False)
def safe_date(value, arg=None):
    local = safe_localtime(value)
    if arg and isinstance(local, datetime) and local.tzinfo is not None:
        arg = format_with_year(arg, local, safe_localtime(timezone.now(), local.tzinfo))
    return date_filter(local, arg)


def _signed_in(context) -> bool:
    user = context.get("user")
    if user is None:
        request = context.get("request")
        user = getattr(request, "user", None)
    return bool(getattr(user, "is_authenticated", False))


@register.simple_tag(takes_context=True)
def local_time(context, value, arg: str = "D j M, H:i"):
    """``<time datetime="(UTC ISO 8601)">(safe_date text)</time>``; for a signed-out viewer with
    ``data-local-format`` too, for ``static/js/local-times.js``."""
    text = safe_date(value, arg)
    if not isinstance(value, datetime) or timezone.is_naive(value):
        return text
    instant = safe_localtime(value, UTC)
    if _signed_in(context):
        return format_html('<time datetime="{}">{}</time>', instant.isoformat(), text)
    return format_html('<time datetime="{}" data-local-format="{}">{}</time>', instant.isoformat(), arg, text)
