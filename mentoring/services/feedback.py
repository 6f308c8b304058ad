from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal.accounts.models import User

from ..models import Feedback, Report, Session
from ..selectors import session_has_learner, session_is_participant, session_participant_ids
from . import SAME_SUBMISSION_WINDOW, MentoringError

FEEDBACK_EDIT_DAYS = 7


@transaction.atomic
def feedback_submit(
    *, session_id: int, learner: User, rating: int, comment: str, now: datetime | None = None
) -> Feedback:
    """Rate a session after it ended: once per learner, editable for 7 days."""
    now = now or timezone.now()
    session = Session.objects.filter(pk=session_id).first()
    if session is None or not session_has_learner(session=session, user=learner):
        raise MentoringError("No such session.", code="not_found")
    if session.status == Session.Status.CANCELLED:
        raise MentoringError("This session was cancelled, so there is nothing to rate.", code="cancelled")
    if session.ends_at > now:
        raise MentoringError("You can rate this session once it has ended.", code="not_ended")
    if not 1 <= rating <= 5:
        raise MentoringError("Choose a rating from 1 to 5.", code="rating")
    feedback = Feedback.objects.select_for_update().filter(session=session, learner=learner).first()
    if feedback is None:
        return Feedback.objects.create(session=session, learner=learner, rating=rating, comment=comment.strip())
    if feedback.created_at + timedelta(days=FEEDBACK_EDIT_DAYS) < now:
        raise MentoringError("Feedback can be changed for 7 days after you first gave it.", code="too_late")
    feedback.rating, feedback.comment = rating, comment.strip()
    feedback.save(update_fields=["rating", "comment", "updated_at"])
    return feedback


def feedback_set_hidden(*, feedback_ids: list[int], hidden: bool) -> int:
    return Feedback.objects.filter(pk__in=feedback_ids).update(hidden=hidden)


@transaction.atomic
def report_create(
    *,
    reporter: User,
    reason: str,
    text: str,
    session_id: int | None = None,
    reported_user_id: int | None = None,
    context: dict | None = None,
) -> Report:
    """File a problem into the moderation queue. A report about a session comes from one of its
    participants; a report about a person names a participant of that session, or a mentor."""
    if reason not in Report.Reason.values:
        raise MentoringError("Choose a reason from the list.", code="reason")
    if not text.strip():
        raise MentoringError("Tell us what happened.", code="text")
    session = None
    if session_id is not None:
        session = Session.objects.filter(pk=session_id).first()
        if session is None or not session_is_participant(session=session, user=reporter):
            raise MentoringError("No such session.", code="not_found")
    reported = None
    if reported_user_id is not None:
        reported = User.objects.filter(pk=reported_user_id, is_active=True).first()
        allowed = reported is not None and reported.pk != reporter.pk
        if allowed and session is not None:
            allowed = reported.pk in session_participant_ids(session=session)
        elif allowed:
            allowed = reported.role == User.Role.MENTOR
        if not allowed:
            raise MentoringError("No such person.", code="not_found")
    if session is None and reported is None:
        raise MentoringError("Say which session or person the report is about.", code="subject")
    # At most REPORTS_PER_HOUR per person: the queue is read by people. The reporter's row lock makes
    # two reports sent at once count one after the other.
    User.objects.select_for_update().filter(pk=reporter.pk).first()
    text = text.strip()
    # The same report sent again (a double click, a retry) is the one already filed, and counts once.
    same = Report.objects.filter(
        reporter=reporter,
        session=session,
        reported_user=reported,
        reason=reason,
        text=text,
        created_at__gte=timezone.now() - SAME_SUBMISSION_WINDOW,
    ).first()
    if same is not None:
        return same
    if (
        Report.objects.filter(reporter=reporter, created_at__gte=timezone.now() - timedelta(hours=1)).count()
        >= settings.REPORTS_PER_HOUR
    ):
        raise MentoringError(
            "You have sent several reports in the last hour; our moderators have them. Please wait a while before sending another.",
            code="rate_limited",
        )
    report = Report.objects.create(
        reporter=reporter, session=session, reported_user=reported, reason=reason, text=text, context=context or {}
    )
    from .moderation import report_staff_notify

    report_staff_notify(report=report)
    return report
