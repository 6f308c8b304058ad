from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag
def sessions_beside_body(sessions, page) -> dict:
    """What a course page's "Book a live session" box lists so that no session shows twice: the
    course's sessions less those its body's Sessions blocks already show (``in_body``: whether the
    body lists any sessions at all)."""
    shown: set[int] = set()
    in_body = False
    for block in page.body:
        if block.block_type != "course_sessions":
            continue
        in_body = True
        if block.value["include_matching"]:
            return {"sessions": [], "in_body": True}  # the block lists every one of the course's sessions
        shown.update(session.pk for session in block.value["pinned"] if session is not None)
    return {"sessions": [s for s in sessions if s.pk not in shown], "in_body": in_body}
