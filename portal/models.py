from __future__ import annotations

from django.db import models


class FormSubmission(models.Model):
    """One submitted form, known by its one-time token (``portal/once.py``): the same submission
    arriving again (a double click, Enter twice, a retry on a slow link) gets this first outcome
    back instead of doing the work twice."""

    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.PositiveSmallIntegerField(default=0)
    location = models.CharField(max_length=2000, blank=True)
    body = models.TextField(blank=True)  # a JSON answer's body, for forms sent by script
    messages = models.JSONField(default=list)  # [[level, text, extra_tags], ...]
    signed_in_user_id = models.BigIntegerField(null=True, blank=True)  # whom the submission signed in (sign-up)
    signed_in_again = models.BooleanField(default=False)  # a repeat signed its browser in too (once only)

    def __str__(self) -> str:
        return f"form submission {self.pk} ({self.status})"
