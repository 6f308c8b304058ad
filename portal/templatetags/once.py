"""``{% once_field %}``: the one-time token a state-changing form carries (``portal/once.py``)."""

from __future__ import annotations

import secrets

from django import template
from django.utils.html import format_html

from portal.once import FIELD

register = template.Library()


@register.simple_tag
def once_field() -> str:
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, secrets.token_urlsafe(16))
