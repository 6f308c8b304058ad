"""Health endpoints for load balancers and orchestrators. Cheap, unauthenticated, and they say only
"ok" or "fail" per check: no versions, hosts or error messages.

* ``/health/live/``: the process is up and serving (nothing else is touched).
* ``/health/ready/``: it can do its job: PostgreSQL answers, every migration is applied, Redis
  answers and the channel layer delivers a message to this process. Each check gives up after
  ``READY_CHECK_SECONDS``, so a dead dependency fails readiness within seconds, not a timeout later.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.decorators import sync_and_async_middleware
from django.views.decorators.cache import never_cache

from portal import shutdown

logger = logging.getLogger(__name__)
READY_CHECK_SECONDS = 2.0
_probe = {"migrated": False}
_probe_channels: dict[int, tuple[asyncio.Lock, list]] = {}  # per event loop: a lock and the probe channel


@never_cache
async def live(request) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
async def ready(request) -> JsonResponse:
    if shutdown.state["draining"]:  # shutting down: send new work elsewhere
        return JsonResponse({"status": "draining"}, status=503)
    checks = dict(
        zip(
            ("database", "migrations", "redis", "channel_layer"),
            await asyncio.gather(
                _timed(sync_to_async(_database, thread_sensitive=False)()),
                _timed(sync_to_async(_migrations, thread_sensitive=False)()),
                _timed(_redis()),
                _timed(_channel_layer()),
            ),
            strict=True,
        )
    )
    ok = all(result != "fail" for result in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)


async def _timed(check) -> str:
    try:
        return await asyncio.wait_for(check, READY_CHECK_SECONDS)
    except Exception as error:  # the reason goes to the log, never to the caller
        logger.warning("readiness check failed: %r", error)
        return "fail"


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return "ok"
    finally:
        connection.close()  # back to the pool; this thread may never run a query again


def _migrations() -> str:
    if _probe["migrated"]:  # applied migrations do not un-apply themselves
        return "ok"
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    finally:
        connection.close()
    if pending:
        raise RuntimeError(f"{len(pending)} migration(s) not applied")
    _probe["migrated"] = True
    return "ok"


async def _redis() -> str:
    if not settings.REDIS_URL:
        return "not used"
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=READY_CHECK_SECONDS, socket_timeout=READY_CHECK_SECONDS
    )
    try:
        await client.ping()
    finally:
        await client.aclose()
    return "ok"


async def _channel_layer() -> str:
    """A message through the channel layer to this very process and back."""
    layer = get_channel_layer()
    lock, channel = _probe_channels.setdefault(id(asyncio.get_running_loop()), (asyncio.Lock(), []))
    async with lock:  # one probe at a time on this loop's one probe channel
        if not channel:
            channel.append(await layer.new_channel("health."))
        nonce = secrets.token_hex(8)
        try:
            await layer.send(channel[0], {"type": "health.ping", "nonce": nonce})
            while (await layer.receive(channel[0])).get("nonce") != nonce:
                pass  # an answer to an earlier probe
        except BaseException:
            channel.clear()  # a timed-out receive may have dropped the subscription: start afresh next time
            raise
    return "ok"


@sync_and_async_middleware
def health_middleware(get_response):
    """Answers the health paths before anything else runs, so a probe by IP address (a container
    healthcheck, a load balancer) is not refused by ALLOWED_HOSTS and touches no session."""
    views = {"/health/live/": live, "/health/ready/": ready}

    if iscoroutinefunction(get_response):

        async def middleware(request):
            view = views.get(request.path_info)
            return await view(request) if view else await get_response(request)

    else:

        def middleware(request):
            view = views.get(request.path_info)
            return async_to_sync(view)(request) if view else get_response(request)

    return middleware
