"""Fixtures shared by the whole suite: personas, a real Daphne server, headless Chromium; and the
``servers`` marker, put on every test that starts a server process, so that
``pytest -m "not browser and not servers"`` (``make test-fast``) is the quick edit-test loop."""

from __future__ import annotations

import inspect
import os
import types

import pytest
from django.core.cache import cache

from tests import servers
from tests.servers import CHROMIUM, CHROMIUM_FLAGS, DaphneProcess, database_url

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _own_recommender_dir(settings, tmp_path):
    # No test sees a model another test (or a developer's run_periodic) trained.
    settings.RECOMMENDER_DIR = tmp_path / "recommender"


@pytest.fixture(autouse=True)
def _clear_cache():
    # allauth keeps its rate-limit counters in the cache; each test starts with none.
    from cms_pages.page_cache import page_cache_bump

    cache.clear()
    page_cache_bump()  # the shared page cache (Redis) keeps no page of another test's database
    yield
    cache.clear()


def make_user(email: str, name: str, role: str = "learner", time_zone: str = "UTC", approved: bool = True, **extra):
    from portal.accounts.models import User
    from portal.accounts.services import user_register

    user = User(email=email, **extra)
    user.set_password(PASSWORD)
    user = user_register(user=user, display_name=name, role=role, time_zone=time_zone)
    if role == "mentor" and approved:
        # A mentor in a test is one staff have reviewed, unless the test is about the review.
        from mentoring.models import MentorProfile

        # On the instance the user caches too: a test that saves ``user.mentor_profile`` keeps it approved.
        profile = user.mentor_profile
        profile.review_status = MentorProfile.Review.APPROVED
        profile.save(update_fields=["review_status"])
    return user


@pytest.fixture
def learner(db):
    return make_user("alice@example.com", "Alice Learner", "learner", "Asia/Kolkata")


@pytest.fixture
def other_learner(db):
    return make_user("bob@example.com", "Bob Learner", "learner", "Europe/Rome")


@pytest.fixture
def mentor(db):
    return make_user("maya@example.com", "Maya Mentor", "mentor", "America/New_York")


@pytest.fixture
def outsider(db):
    return make_user("charlie@example.com", "Charlie Outsider", "learner")


@pytest.fixture
def editor(db):
    from django.contrib.auth.models import Group

    user = make_user("erin@example.com", "Erin Editor", "learner")
    user.groups.add(Group.objects.get(name="Editors"))
    return user


@pytest.fixture
def admin_user(db):
    return make_user("root@example.com", "Root Admin", "learner", is_staff=True, is_superuser=True)


# --------------------------------------------------------------------------- real servers
@pytest.fixture(scope="session")
def daphne_server(django_db_setup, django_db_blocker):
    """A real Daphne process serving the test database. Tests that use it need committed data
    (``live_db``)."""
    from django.db import connection

    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    server = DaphneProcess(env={"DATABASE_URL": url}).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def migrated_baseline(django_db_setup, django_db_blocker) -> str:
    """What migrations put in the database (site, Wagtail page tree, groups, content types),
    captured before any test changes it. Transactional tests start from exactly this."""
    from django.db import connection

    with django_db_blocker.unblock():
        return connection.creation.serialize_db_to_string()


@pytest.fixture(autouse=True)
def _transactional_tests_start_from_the_baseline(request):
    """Transactional tests commit, and their teardown flushes every table. Each one starts by
    truncating whatever is there and loading the migrated baseline, whatever ran before it.
    (Django's serialized_rollback proved order-dependent here, so it is not used.)"""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))
    )
    if not transactional:
        yield
        return
    migrated_baseline = request.getfixturevalue("migrated_baseline")
    request.getfixturevalue("transactional_db")
    from django.db import connection

    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE {} CASCADE".format(", ".join(connection.ops.quote_name(t) for t in tables)))
    connection.creation.deserialize_db_from_string(migrated_baseline)
    yield


@pytest.fixture
def live_db(transactional_db):
    """Committed data that another process (Daphne) can see."""


@pytest.fixture
def live_server_url(live_db, daphne_server) -> str:
    return daphne_server.url


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def chromium():
    # Playwright's sync API runs an event loop in this thread while it is open, which breaks
    # pytest-asyncio tests; module scope closes it after each browser test module. The test's
    # own ORM calls are plain synchronous code, so Django's async-safety check does not apply.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_context(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    yield context
    context.close()


# --------------------------------------------------------------------------- the `servers` tier
# A test starts a server process when it uses the shared Daphne, or when its code, one of its
# fixtures or a test helper function they call (one in a `tests` package) names one of these classes.
# By hand (`pytestmark = pytest.mark.servers`) only where neither shows it: tests/test_load.py.
SERVER_FIXTURES = frozenset({"daphne_server"})
SERVER_CLASSES = frozenset({"DaphneProcess", "RedisProcess", "PostgresCluster", "CoturnProcess"})


def _names_a_server_class(function, seen: set) -> bool:
    code = getattr(function, "__code__", None)
    if code is None or code in seen:
        return False
    seen.add(code)
    codes = [code]
    names: set[str] = set()
    while codes:  # the function's own code and the code nested in it (closures, comprehensions)
        current = codes.pop()
        names.update(current.co_names)
        codes.extend(const for const in current.co_consts if isinstance(const, types.CodeType))
    if names & SERVER_CLASSES:
        return True
    for name in names:
        called = function.__globals__.get(name)
        test_code = inspect.isfunction(called) and "tests" in called.__module__.split(".")
        if test_code and _names_a_server_class(called, seen):
            return True
    return False


def starts_servers(item: pytest.Function) -> bool:
    if SERVER_FIXTURES & set(item.fixturenames):
        return True
    functions = [item.function]
    for fixturedefs in item._fixtureinfo.name2fixturedefs.values():
        functions.extend(fixturedef.func for fixturedef in fixturedefs)
    seen: set = set()
    return any(_names_a_server_class(function, seen) for function in functions)


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]):
    # Before the other plugins: the marks pytest-xdist reads.
    for item in items:
        if isinstance(item, pytest.Function) and not item.get_closest_marker("servers") and starts_servers(item):
            item.add_marker(pytest.mark.servers)
        # With --dist loadgroup the call tests take turns on one worker (see _xdist_group_ids): two live
        # calls at once on two cores starve each other's media. Other browser tests go to either worker.
        if item.get_closest_marker("calls"):
            item.add_marker(pytest.mark.xdist_group("calls"))
    result = yield
    _xdist_group_ids(items)
    # After pytest-django's order (tests in a rolled-back transaction first; those that commit, and
    # flush the database after them, later): of the later ones, the calls first, so their worker
    # starts on them (the longest share of the run), then the other browser tests, then the rest.
    items.sort(key=_run_order)
    return result


def _run_order(item: pytest.Item) -> int:
    if _rolled_back(item):
        return 0
    return 1 if item.get_closest_marker("calls") else 2 if item.get_closest_marker("browser") else 3


def _xdist_group_ids(items: list[pytest.Item]) -> None:
    """On a ``--dist loadgroup`` worker, the ``@group`` suffix the scheduler groups by. pytest-xdist
    3.8.0 writes it to ``item._nodeid``, which pytest 9 no longer reads (the id is ``item._id``), so
    without this every browser test is scheduled alone and two run at once."""
    config = items[0].config if items else None
    if config is None or not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        names = sorted(
            {
                str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                for mark in item.iter_markers("xdist_group")
            }
        )
        if names and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")


def _rolled_back(item: pytest.Item) -> bool:
    """A test in pytest-django's first group: uses the database inside a transaction it rolls back
    (a Django ``TestCase`` class, or a test asking for ``db`` without committing)."""
    from django.test import TestCase, TransactionTestCase

    cls = getattr(item, "cls", None)
    if cls is not None and issubclass(cls, TransactionTestCase):
        return issubclass(cls, TestCase)
    marker = item.get_closest_marker("django_db")
    names = getattr(item, "fixturenames", [])
    committed = "transactional_db" in names or "live_server" in names
    if marker is not None:
        committed = committed or bool(marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))
        committed = committed or bool(marker.args and marker.args[0])
    return (marker is not None or "db" in names) and not committed


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture starts: a server started by a test the marker missed fails that test.
    os.environ[servers.ALLOWED_ENV] = "1" if item.get_closest_marker("servers") else "0"
