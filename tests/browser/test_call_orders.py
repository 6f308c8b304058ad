"""The call room in every order of a person's actions, in Chromium, in Firefox and across them.

Join is clicked at 0 ms, 100 ms, 500 ms and 2 s after the room opens (the browser's answer about the
camera comes 1.2 s after the page asks, as a person answering the prompt), and "Join now" before the
answer; then a generated sequence of
actions (join at any moment, mute, camera off and on, switch camera, share and stop sharing, reload,
leave, rejoin, the connection dropped) runs with a fixed seed, and after every step each page must
show the room as it is: everyone whose camera is on seen by everyone else (frames advancing), heard
when unmuted, everyone's own tile showing their stream, the people lists agreeing, nobody left
connecting. Denied cameras and microphones join with what is left, and granting later adds it.

Exploration (opt-in, not in ``make test``): ``CALL_EXPLORE=20 pytest tests/browser/test_call_orders.py -k orders -s``
runs 20 random seeds of ``CALL_STEPS`` (default 30) steps each and prints every seed; ``CALL_SEED=N``
replays one.
"""

from __future__ import annotations

import os
import random
from contextlib import ExitStack
from datetime import timedelta

import pytest

from conftest import make_user
from mentoring.tests.factories import make_booking, make_session
from tests.browser.callroom import (
    CHROMIUM_CAMERAS,
    DIAGNOSE,
    JOIN_DELAYS_MS,
    SLOW_ANSWER,
    ChromiumTab,
    CuttableProxy,
    FirefoxTab,
    Person,
    join,
    open_room,
    run_sequence,
    settle,
)
from tests.firefox import Firefox
from tests.servers import CHROMIUM, CHROMIUM_FLAGS
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.calls]

ENGINES = {  # who uses which browser, per configuration
    "chromium": ("chromium", "chromium", "chromium"),
    "firefox": ("firefox", "firefox"),
    "across": ("firefox", "chromium", "chromium"),
}
SEEDS = {"chromium": 2026, "firefox": 7, "across": 41}
STEPS = int(os.environ.get("CALL_STEPS", "30" if os.environ.get("CALL_EXPLORE") else "12"))


def seeds_for(config: str) -> list[int]:
    if os.environ.get("CALL_SEED"):
        return [int(os.environ["CALL_SEED"])]
    explore = int(os.environ.get("CALL_EXPLORE", "0"))
    return [random.SystemRandom().randrange(1, 10**6) for _ in range(explore)] if explore else [SEEDS[config]]


@pytest.fixture(scope="module")
def cameras_chromium(chromium):
    browser = chromium.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_CAMERAS)
    yield browser
    browser.close()


@pytest.fixture
def room(live_server_url, daphne_server):
    mentor = make_user("maya@example.com", "Maya Mentor", "mentor")
    alice = make_user("alice@example.com", "Alice Learner")
    bob = make_user("bob@example.com", "Bob Learner")
    session = make_session(mentor, title="Orders", starts_in=timedelta(minutes=5), capacity=3)
    make_booking(session, alice)
    make_booking(session, bob)
    return daphne_server, [mentor, alice, bob], f"/sessions/{session.room_id}/room/"


def make_people(
    stack: ExitStack,
    server,
    users,
    path,
    engines,
    chromium_browser,
    firefox_options=None,
    init_script: str = SLOW_ANSWER,
) -> list[Person]:
    people = []
    for user, engine in zip(users, engines, strict=False):
        proxy = CuttableProxy(server.port)
        stack.callback(proxy.close)
        if engine == "chromium":
            browser = chromium_browser
            if any(p.tab.engine == "chromium" for p in people):
                # Each person in their own browser, as people are. Contexts of one browser share its camera,
                # and Chromium gives a second one no frames while the first holds the camera with nothing
                # showing it (its person is sharing the screen): a meeting of two tabs no call has.
                browser = chromium_browser.browser_type.launch(executable_path=CHROMIUM, args=CHROMIUM_CAMERAS)
                stack.callback(browser.close)
            tab = ChromiumTab(browser.new_context(viewport={"width": 960, "height": 700}), init_script)
        else:
            tab = FirefoxTab(Firefox(width=960, height=700, **(firefox_options or {})).start(), init_script)
        stack.callback(tab.close)
        tab.log_in(proxy.url, user.email)
        people.append(Person(user.display_name, user.email, tab, proxy, path))
    return people


# A fixed-seed run takes about a minute; exploration runs many more steps.
@pytest.mark.timeout(600 + (int(os.environ.get("CALL_EXPLORE", "0")) * STEPS * 15))
@pytest.mark.parametrize("config", list(ENGINES))
def test_join_at_any_moment_and_any_order_of_actions(config, room, cameras_chromium):
    server, users, path = room
    with ExitStack() as stack:
        people = make_people(stack, server, users, path, ENGINES[config], cameras_chromium)
        pair = people[:2]

        # The join-timing matrix: both click Join the same time after opening the room.
        matrix, problems = [], []
        for delay in JOIN_DELAYS_MS:
            for person in pair:
                join(person, delay)
            took, wrong = settle(people)
            matrix.append(f"{delay} ms: {'seen and heard both ways' if not wrong else 'FAILED'} ({took:.1f} s)")
            problems += [f"join at {delay} ms: {p}" for p in wrong]
        # Join, then "Join now, without waiting": in the call before the camera, which follows.
        for person in pair:
            join(person, 0, "Join now, without waiting")
        took, wrong = settle(people)
        matrix.append(f"join now at 0 ms: {'seen and heard both ways' if not wrong else 'FAILED'} ({took:.1f} s)")
        problems += [f"join now: {p}" for p in wrong]
        print(f"\n[orders] {config} ({' + '.join(p.tab.engine for p in pair)}) join timing: " + "; ".join(matrix))
        if problems:
            print(f"  connections: { {p.name: p.tab.evaluate(DIAGNOSE) for p in pair} }")
        assert problems == []

        # Generated sequences from where the matrix left the room.
        runs = []
        for seed in seeds_for(config):
            for person in people:  # every run starts from the room with nobody in it
                if person.where != "out":
                    person.tab.goto(person.proxy.url + "/dashboard/")
                    person.where = "out"
            run = run_sequence(people, seed, STEPS)
            runs.append(run)
            print(
                f"[orders] {config} seed {seed}: {len(run.steps)} steps, violations {len(run.violations)}, "
                f"slowest settle {run.slowest:.1f} s"
            )
            print("  steps: " + " | ".join(run.steps))
            if run.violations:
                print("  " + "\n  ".join(run.violations))
                print(f"  connections: {run.diagnosis}")
        total = sum(len(r.steps) for r in runs)
        print(
            f"[orders] {config}: {len(runs)} sequence(s) x {STEPS} steps x {len(people)} participants "
            f"({', '.join(p.tab.engine for p in people)}), {total} steps checked, "
            f"invariant violations {sum(len(r.violations) for r in runs)}"
        )
        assert [v for r in runs for v in r.violations] == []


# ------------------------------------------------------------------ denied and missing devices
CAMERA_BLOCKED = "Your camera is blocked in your browser. You can join with your microphone only; allow the camera and it is added to the call."
BOTH_BLOCKED = (
    "Your camera and microphone are not available (the camera is blocked in your browser). "
    "You can still join and listen; allow them and they are added to the call."
)
STATUS = "() => document.querySelector('#prejoin-status').textContent"


@pytest.mark.parametrize("engine", ["chromium", "firefox"])
def test_denied_devices_join_with_what_is_left_and_granting_later_adds_it(engine, room, chromium):
    server, (mentor, alice, bob), path = room
    with ExitStack() as stack:
        (maya,) = make_people(stack, server, [mentor], path, ["chromium"], chromium)
        blocked = []
        if engine == "chromium":
            # No automatic "allow": each context grants only what the person allowed.
            strict = chromium.browser_type.launch(
                executable_path=CHROMIUM, args=[f for f in CHROMIUM_FLAGS if f != "--use-fake-ui-for-media-stream"]
            )
            stack.callback(strict.close)
            for user, granted in ((alice, ["microphone"]), (bob, [])):
                (person,) = make_people(stack, server, [user], path, ["chromium"], strict)
                if granted:
                    person.tab.context.grant_permissions(granted, origin=person.proxy.url)

                def allow(person=person):
                    person.tab.context.grant_permissions(["camera", "microphone"], origin=person.proxy.url)

                blocked.append((person, allow))
        else:
            options = {"preferences": {"media.navigator.permission.disabled": False}, "system_access": True}
            for user, denied in ((alice, ["camera"]), (bob, ["camera", "microphone"])):
                (person,) = make_people(stack, server, [user], path, ["firefox"], chromium, options)
                firefox = person.tab.firefox
                for name in ("camera", "microphone"):
                    firefox.set_permission(person.proxy.url, name, name not in denied)

                def allow(firefox=firefox, origin=person.proxy.url):
                    firefox.set_permission(origin, "camera", True)
                    firefox.set_permission(origin, "microphone", True)

                blocked.append((person, allow))
        (alice_p, allow_alice), (bob_p, allow_bob) = blocked

        # Maya joins as usual; Alice (camera blocked) and Bob (both blocked) read what they can do.
        join(maya, 0)
        seen = {}
        for person, words in ((alice_p, CAMERA_BLOCKED), (bob_p, BOTH_BLOCKED)):
            open_room(person)
            deadline_words = wait_for_text(person, words)
            seen[person.name] = deadline_words
            join(person, 0)
        alice_p.video = False
        bob_p.video = bob_p.audio = False
        took, problems = settle([maya, alice_p, bob_p])
        assert problems == [], problems
        joined_s = took

        # They allow the blocked devices in the browser: the call gets them, nobody rejoins.
        allow_alice()
        alice_p.video = True
        took_alice, problems = settle([maya, alice_p, bob_p])
        assert problems == [], problems
        allow_bob()
        bob_p.video = bob_p.audio = True
        took_bob, problems = settle([maya, alice_p, bob_p])
        assert problems == [], problems
        print(
            f"\n[devices] {engine}: camera blocked -> joined with microphone ({seen[alice_p.name]!r}); both blocked -> "
            f"joined to listen ({seen[bob_p.name]!r}); settled in {joined_s:.1f} s; granted later -> camera added for "
            f"Alice in {took_alice:.1f} s, camera and microphone for Bob in {took_bob:.1f} s, seen and heard by all"
        )


def wait_for_text(person: Person, words: str, timeout: float = 15) -> str:
    wait_until(
        lambda: person.tab.evaluate(STATUS) == words,
        timeout=timeout,
        interval=0.1,
        what=f"{person.name} reading {words!r}",
    )
    return words
