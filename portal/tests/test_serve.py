"""``python -m portal.serve``: Daphne's command line on uvloop (``EVENT_LOOP=asyncio`` for the standard
library's loop), as `make run`, the Dockerfile, docker-compose and the suite's servers start it."""

from __future__ import annotations

import pytest

from portal.serve import chosen_loop
from portal.tests.test_health import get
from tests.servers import DaphneProcess


def test_the_loop_is_uvloop_unless_told_and_a_wrong_name_is_refused():
    assert chosen_loop({}) == "uvloop" and chosen_loop({"EVENT_LOOP": " "}) == "uvloop"
    assert chosen_loop({"EVENT_LOOP": "asyncio"}) == "asyncio"
    with pytest.raises(SystemExit, match="EVENT_LOOP must be one of uvloop, asyncio, not 'trio'"):
        chosen_loop({"EVENT_LOOP": "trio"})


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_daphne_serves_on_the_chosen_loop(loop, tmp_path):
    server = DaphneProcess(env={"EVENT_LOOP": loop}, log_path=tmp_path / "daphne.log").start()
    try:
        status, body = get(f"{server.url}/health/live/")
        assert status == 200, body
        log = server.log_text()
        print(f"\n[serve] {log.splitlines()[0]}")
        expected = "(uvloop.Loop)" if loop == "uvloop" else "(asyncio.unix_events._UnixSelectorEventLoop)"
        assert f"PeerLearn: Daphne on the {loop} event loop {expected}" in log
    finally:
        server.stop()
