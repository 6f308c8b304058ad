"""Deactivating (or deleting) an account in the Django admin takes what it held with it, through the
booking, session and request services: the learner's future bookings are cancelled and the seats go
to the waiting learners, the mentor's future sessions are cancelled with their learners told, and the
person's open sockets close (on the real consumer and Redis channel layer)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.admin.models import LogEntry
from django.test import Client

from conftest import make_user
from mentoring.models import Booking, ModerationAction, Notification, Session, SessionRequest, WaitlistEntry
from mentoring.services.bookings import booking_create, waitlist_join
from mentoring.services.requests import request_create, request_slots
from mentoring.tests.factories import make_session
from mentoring.tests.services.test_requests import AGENDA, open_hours
from portal.accounts.models import User
from portal.asgi import application

USERS_ADMIN = "/admin/accounts/user/"
CLOSE_REVOKED = 4401  # the wire's "access ended" close code (signaling/PROTOCOL.md)


def _learner_with_seven_bookings(mentor, learner, waiter, other):
    """Seven future bookings, four of them in full sessions with ``waiter`` waiting, and one waitlist place."""
    full = []
    for number in range(7):
        session = make_session(
            mentor,
            starts_in=timedelta(days=2, hours=2 * number),
            capacity=1 if number < 4 else 3,
            title=f"Session {number + 1}",
        )
        booking_create(session_id=session.pk, learner=learner)
        if number < 4:
            waitlist_join(session_id=session.pk, learner=waiter)
            full.append(session)
    taken = make_session(mentor, starts_in=timedelta(days=4), capacity=1, title="Taken by someone else")
    booking_create(session_id=taken.pk, learner=other)
    waitlist_join(session_id=taken.pk, learner=learner)
    return full


def _mentor_with_booked_sessions(mentor, learners, count=3):
    sessions = [
        make_session(mentor, starts_in=timedelta(days=6, hours=2 * n), capacity=len(learners), title=f"Talk {n}")
        for n in range(count)
    ]
    for session in sessions:
        for person in learners:
            booking_create(session_id=session.pk, learner=person)
    return sessions


async def _socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, "/ws/notifications/", headers=[(b"origin", b"http://127.0.0.1")])
    communicator.scope["user"] = user  # AuthMiddlewareStack keeps a user already in the scope
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def _closed_with(communicator: WebsocketCommunicator) -> int | None:
    while True:
        out = await communicator.receive_output(timeout=5)
        if out["type"] == "websocket.close":
            await communicator.disconnect()  # lets the consumer leave its groups before the test ends
            return out.get("code")


@pytest.mark.django_db(transaction=True)
async def test_deactivating_a_learner_and_a_mentor_cancels_what_they_held_and_closes_their_sockets(
    mentor, learner, other_learner, outsider, admin_user
):
    def arrange():
        mentor_b = make_user("ben@example.com", "Ben Mentor", "mentor", "Europe/Berlin")
        dana = make_user("dana@example.com", "Dana Learner", "learner")
        full = _learner_with_seven_bookings(mentor, learner, waiter=other_learner, other=outsider)
        talks = _mentor_with_booked_sessions(mentor_b, [outsider, dana])
        return mentor_b, full, talks

    mentor_b, full, talks = await sync_to_async(arrange)()
    sockets = [await _socket(learner), await _socket(learner), await _socket(mentor_b)]
    bystander = await _socket(other_learner)

    def deactivate():
        client = Client()
        client.force_login(admin_user)
        return client.post(
            USERS_ADMIN, {"action": "deactivate_users", "_selected_action": [learner.pk, mentor_b.pk]}, follow=True
        )

    response = await sync_to_async(deactivate)()
    assert response.status_code == 200 and "Deactivated 2 user(s)." in response.text

    def outcome():
        mine = Booking.objects.filter(learner=learner)
        promoted = Booking.objects.filter(
            learner=other_learner, session__in=full, status=Booking.Status.ACTIVE, promoted_from_waitlist=True
        )
        told = (
            Notification.objects.filter(
                kind=Notification.Kind.SESSION_CANCELLED, user__in=[outsider.pk], text__contains="Talk"
            ).count()
            + Notification.objects.filter(
                kind=Notification.Kind.SESSION_CANCELLED, user__email="dana@example.com"
            ).count()
        )
        return {
            "cancelled": mine.filter(status=Booking.Status.CANCELLED).count(),
            "active": mine.filter(status=Booking.Status.ACTIVE).count(),
            "promoted": promoted.count(),
            "waiting": WaitlistEntry.objects.filter(learner=learner, status=WaitlistEntry.Status.WAITING).count(),
            "sessions": Session.objects.filter(pk__in=[t.pk for t in talks], status=Session.Status.CANCELLED).count(),
            "told": told,
            "inactive": User.objects.filter(pk__in=[learner.pk, mentor_b.pk], is_active=False).count(),
            "logged": LogEntry.objects.filter(change_message__startswith="Deactivated: ").count(),
            "recorded": ModerationAction.objects.filter(kind="deactivate", actor=admin_user).count(),
        }

    result = await sync_to_async(outcome)()
    codes = [await _closed_with(socket) for socket in sockets]
    closed = codes.count(CLOSE_REVOKED)
    # Nobody else's socket closes: the waiting learner who got the seats hears of it instead.
    assert (await bystander.receive_json_from(timeout=5))["type"] == "notification"
    await bystander.disconnect()

    print(
        f"\n[deactivate] learner: bookings cancelled {result['cancelled']}/7, waitlist promoted {result['promoted']}/4, "
        f"waitlist places left {1 - result['waiting']}/1; mentor: sessions cancelled {result['sessions']}/3, "
        f"learners notified {result['told']}/6; sockets closed {closed}/{len(sockets)}"
    )
    assert result == {
        "cancelled": 7,
        "active": 0,
        "promoted": 4,
        "waiting": 0,
        "sessions": 3,
        "told": 6,
        "inactive": 2,
        "logged": 2,
        "recorded": 2,
    }
    assert closed == len(sockets)


@pytest.mark.django_db
def test_unticking_active_in_the_user_form_cancels_bookings_and_requests(
    client, admin_user, mentor, learner, other_learner, django_capture_on_commit_callbacks
):
    full = make_session(mentor, starts_in=timedelta(days=2), capacity=1, title="Full one")
    booking_create(session_id=full.pk, learner=learner)
    waitlist_join(session_id=full.pk, learner=other_learner)
    open_hours(mentor)
    asked = request_create(
        learner=learner,
        mentor_id=mentor.pk,
        starts_at=request_slots(mentor=mentor, duration_minutes=60, learner=learner)[0].starts_at,
        duration_minutes=60,
        agenda=AGENDA,
    )
    client.force_login(admin_user)
    form = {
        "email": learner.email,
        "display_name": learner.display_name,
        "role": learner.role,
        "time_zone": learner.time_zone,
        "date_joined_0": learner.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": learner.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }  # is_active left out: unticked

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{USERS_ADMIN}{learner.pk}/change/", form, follow=True)

    assert response.status_code == 200
    assert "was deactivated: 1 booking cancelled; 1 1:1 request closed; 1 waiting learner got the seat" in response.text
    learner.refresh_from_db()
    assert not learner.is_active
    assert Booking.objects.get(session=full, learner=learner).status == Booking.Status.CANCELLED
    assert Booking.objects.get(session=full, learner=other_learner).promoted_from_waitlist
    asked.refresh_from_db()
    assert asked.status == SessionRequest.Status.WITHDRAWN
    print("\n[deactivate] user form: booking cancelled 1/1, waiting learner promoted 1/1, request withdrawn 1/1")


@pytest.mark.django_db
def test_deleting_a_person_who_holds_bookings_or_sessions_is_refused_so_nothing_goes_silently(
    client, admin_user, mentor, learner
):
    session = make_session(mentor, starts_in=timedelta(days=2), capacity=2)
    booking_create(session_id=session.pk, learner=learner)
    client.force_login(admin_user)

    for person in (mentor, learner):
        response = client.post(
            USERS_ADMIN, {"action": "delete_selected", "_selected_action": [person.pk], "post": "yes"}
        )
        assert response.status_code == 403
    assert User.objects.filter(pk__in=[mentor.pk, learner.pk]).count() == 2
    assert Booking.objects.get(session=session, learner=learner).status == Booking.Status.ACTIVE


@pytest.mark.django_db
def test_deleting_a_person_who_filed_a_report_is_allowed_and_takes_the_report_with_them(
    client, admin_user, mentor, learner
):
    """Reports cannot be deleted on their own in the admin, but that must not block erasing the person
    who filed one (Django's admin refuses a deletion whose related rows the admin may not delete)."""
    from mentoring.models import Report
    from mentoring.services.feedback import report_create

    report = report_create(reporter=learner, reason="behaviour", text="Rude", reported_user_id=mentor.pk)
    client.force_login(admin_user)
    assert client.get(f"/admin/mentoring/report/{report.pk}/delete/").status_code == 403
    response = client.post(USERS_ADMIN, {"action": "delete_selected", "_selected_action": [learner.pk], "post": "yes"})
    assert response.status_code == 302, response.text[:300]
    assert not User.objects.filter(pk=learner.pk).exists() and not Report.objects.filter(pk=report.pk).exists()
