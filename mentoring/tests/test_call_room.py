"""What the call room adds over HTTP: "Report a problem" from inside the call, and the call quality
record that staff see beside attendance. Also what a call socket's heartbeat learns of its presence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from mentoring.models import CallAttendance, Report
from mentoring.services.calls import (
    CallPresence,
    QualitySample,
    call_end_replaced,
    call_join,
    call_keep_alive,
    call_peers_present,
    call_quality_record,
    call_release,
    call_sweep_stale,
)
from mentoring.tests.factories import make_booking, make_session

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_room(mentor, learner):
    session = make_session(mentor, title="Live review", starts_in=timedelta(minutes=5), capacity=2)
    make_booking(session, learner)
    return session


def report_url(session) -> str:
    return f"/sessions/{session.room_id}/room/report/"


def test_a_report_from_the_call_carries_the_session_the_people_in_the_call_and_the_time(
    client, live_room, mentor, learner
):
    call_join(session=live_room, user=mentor, peer_id="a" * 16, connection="chan-1")
    call_join(session=live_room, user=learner, peer_id="b" * 16, connection="chan-2")
    gone = call_join(session=live_room, user=learner, peer_id="c" * 16, connection="chan-3")[0]
    CallAttendance.objects.filter(pk=gone.pk).update(left_at=timezone.now())  # an earlier tab that left
    client.force_login(learner)
    before = timezone.now()
    response = client.post(
        report_url(live_room),
        {"reason": "technical", "reported_user": str(mentor.pk), "text": "  Video froze twice.  "},
    )
    assert response.status_code == 201, response.content
    assert "moderators" in response.json()["message"]
    report = Report.objects.get()
    assert (report.reporter, report.session, report.reported_user, report.reason, report.text) == (
        learner,
        live_room,
        mentor,
        "technical",
        "Video froze twice.",
    )
    assert report.context["source"] == "call room"
    assert report.context["reported_at"] >= before.isoformat()
    assert [(p["name"], p["role"]) for p in report.context["in_call"]] == [
        ("Maya Mentor", "mentor"),
        ("Alice Learner", "learner"),
    ]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reason": "dance", "text": "x"}, "reason"),
        ({"reason": "technical", "text": "   "}, "text"),
        ({"reason": "technical", "text": "x", "reported_user": "999999"}, "reported_user"),
    ],
)
def test_a_bad_report_gets_a_specific_error_and_stores_nothing(client, live_room, learner, data, field):
    client.force_login(learner)
    response = client.post(report_url(live_room), data)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Report.objects.exists()


def test_only_participants_can_report_from_a_room(client, live_room, outsider):
    client.force_login(outsider)
    assert client.post(report_url(live_room), {"reason": "technical", "text": "hi"}).status_code == 404
    client.logout()
    assert client.post(report_url(live_room), {"reason": "technical", "text": "hi"}).status_code == 302
    client.force_login(outsider)
    assert client.get(report_url(live_room)).status_code == 405
    assert not Report.objects.exists()


def test_the_room_page_offers_the_report_dialog_and_the_call_check(client, live_room, learner):
    client.force_login(learner)
    page = client.get(f"/sessions/{live_room.room_id}/room/").content.decode()
    assert 'id="report-dialog"' in page and report_url(live_room) in page
    assert f'<option value="{live_room.mentor_id}">Maya Mentor</option>' in page
    assert f'href="/call-check/?next=/sessions/{live_room.room_id}/room/"' in page


def test_staff_see_call_quality_beside_attendance(client, admin_user, live_room, learner):
    call_join(session=live_room, user=learner, peer_id="b" * 16, connection="chan-2")
    sample = QualitySample(
        rtt_ms=42.0,
        loss_pct=0.5,
        in_kbps=900.0,
        out_kbps=700.0,
        local="relay",
        remote="host",
        protocol="udp",
        ice_restarts=1,
        reconnects=3,
    )
    call_quality_record(session_id=live_room.pk, user_id=learner.pk, sample=sample)
    client.force_login(admin_user)
    page = client.get(f"/admin/mentoring/session/{live_room.pk}/change/").content.decode()
    assert "Call attendance" in page and "Call quality" in page
    assert "42.0 / 42.0 ms" in page and "relay/host" in page and "900.0 / 700.0 kbit/s" in page


@override_settings(REPORTS_PER_HOUR=3)
def test_reports_are_limited_per_person_and_hour_on_every_form(client, live_room, learner, mentor):
    client.force_login(learner)
    answers = [
        client.post(report_url(live_room), {"reason": "technical", "text": f"Froze {n}"}).status_code for n in range(3)
    ]
    refused = client.post(report_url(live_room), {"reason": "technical", "text": "Froze again"})
    assert answers == [201, 201, 201] and refused.status_code == 400
    assert "several reports in the last hour" in refused.json()["errors"]["__all__"][0]
    page = client.post(
        f"/mentors/{mentor.pk}/report/", {"reason": "behaviour", "text": "Rude"}
    )  # the other forms share the limit
    assert page.status_code == 200 and "several reports in the last hour" in page.content.decode()
    assert Report.objects.count() == 3
    client.force_login(mentor)  # someone else is not affected
    assert client.post(report_url(live_room), {"reason": "technical", "text": "Mine froze too"}).status_code == 201


def test_a_heartbeat_learns_what_became_of_its_presence(live_room, learner, settings):
    peer = "d" * 16
    call_join(session=live_room, user=learner, peer_id=peer, connection="chan-old")
    assert call_keep_alive(peer_id=peer, connection="chan-old") is CallPresence.FRESH
    call_join(session=live_room, user=learner, peer_id=peer, connection="chan-new")  # the page reconnected
    assert call_keep_alive(peer_id=peer, connection="chan-old") is CallPresence.REPLACED
    later = timezone.now() + timedelta(seconds=settings.CALL_PRESENCE_TIMEOUT_SECONDS + 1)
    assert call_sweep_stale(session_id=live_room.pk, now=later) == [
        (peer, CallAttendance.objects.get(peer_id=peer).joined_at.isoformat())
    ]
    assert call_keep_alive(peer_id=peer, connection="chan-new") is CallPresence.ENDED
    learner.is_active = False
    learner.save(update_fields=["is_active"])
    assert call_keep_alive(peer_id=peer, connection="chan-new") is CallPresence.REVOKED


def test_a_reload_whose_goodbye_was_lost_leaves_no_ghost_in_either_order(live_room, learner, mentor):
    def present() -> list[str]:
        return sorted(p["id"] for p in call_peers_present(session_id=live_room.pk))

    # The old page's socket dropped before the new page came: the new page ends it at once.
    call_join(session=live_room, user=mentor, peer_id="m" * 16, connection="chan-m")
    call_join(session=live_room, user=learner, peer_id="a" * 16, connection="chan-a")
    assert call_release(peer_id="a" * 16, connection="chan-a") is False  # may still reconnect
    call_join(session=live_room, user=learner, peer_id="b" * 16, connection="chan-b")
    gone = call_end_replaced(session_id=live_room.pk, user_id=learner.pk, peer_id="b" * 16)
    assert [peer for peer, _ in gone] == ["a" * 16] and present() == ["b" * 16, "m" * 16]

    # The new page came first, the old socket dropped after: it ends instead of waiting to reconnect.
    call_join(session=live_room, user=learner, peer_id="c" * 16, connection="chan-c")
    assert call_end_replaced(session_id=live_room.pk, user_id=learner.pk, peer_id="c" * 16) == []
    assert call_release(peer_id="b" * 16, connection="chan-b") is True
    assert present() == ["c" * 16, "m" * 16]

    # A dropped socket of someone with no newer page stays open for its reconnect; others are untouched.
    assert call_release(peer_id="m" * 16, connection="chan-m") is False
    assert call_end_replaced(session_id=live_room.pk, user_id=learner.pk, peer_id="c" * 16) == []
    assert present() == ["c" * 16, "m" * 16]
