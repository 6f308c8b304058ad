from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from mentoring.models import Session
from mentoring.tests.factories import make_session


@pytest.mark.django_db
def test_run_periodic_once_completes_ended_sessions(mentor, capsys):
    session = make_session(mentor)
    Session.objects.filter(pk=session.pk).update(starts_at=session.starts_at - timedelta(days=3), ends_at=session.ends_at - timedelta(days=3))
    call_command("run_periodic", "--once")
    assert "complete_sessions: 1" in capsys.readouterr().out
    assert Session.objects.get(pk=session.pk).status == "completed"


@pytest.mark.django_db
def test_run_periodic_rejects_a_silly_interval():
    with pytest.raises(CommandError, match="between 10 and 3600"):
        call_command("run_periodic", "--interval", "1")
