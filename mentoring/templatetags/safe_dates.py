"""``{% load safe_dates %}`` then ``{{ session.starts_at|safe_date:"D j M, H:i" }}``.

Django's ``date`` filter converts to the viewer's zone before it is called, and that conversion
raises ``OverflowError`` for instants near the year 1 or 9999. ``safe_date`` converts itself with
``portal.dates.safe_localtime`` (UTC on overflow; format ``T`` then says "UTC"), so a date someone
else stored cannot break the page. Use it for every stored date a page shows.
"""

from __future__ import annotations

from django import template
from django.template.defaultfilters import date as date_filter

from portal.dates import safe_localtime

register = template.Library()


@register.filter(expects_localtime=False, is_safe=False)
def safe_date(value, arg=None):
    return date_filter(safe_localtime(value), arg)
