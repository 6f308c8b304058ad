"""Which address a request comes from, and whether it came over HTTPS, when a proxy may stand in front.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are whatever the sender wrote. They are believed only
when the direct peer (``REMOTE_ADDR``: the TCP peer Daphne saw) is one of ``TRUSTED_PROXY_IPS``,
which is empty unless ``BEHIND_PROXY`` is on. Then the client is the right-most ``X-Forwarded-For``
entry that is not itself a trusted proxy; a client that reaches Daphne directly, past the proxy, is
counted by its own address whatever headers it sends, and its ``X-Forwarded-Proto`` is dropped.

Daphne must run without ``--proxy-headers``: with it, Daphne replaces the peer address with the
header's first entry before Django sees the request, so nobody could tell who really connected.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

from portal.middleware import DualModeMiddleware

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Headers only a proxy may set. X-Forwarded-For and -Proto are read below (from trusted proxies only);
# the site uses no X-Forwarded-Host or -Port, so they are dropped from everyone and no later reader meets them.
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT")


def proxy_networks_parse(values: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "127.0.0.1"]`` -> networks; ValueError names the first entry that is neither an IP nor a CIDR."""
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{value!r} is not an IP address or network (CIDR)") from None
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(values: tuple[str, ...]) -> tuple[Network, ...]:
    return proxy_networks_parse(values)


def trusted_proxies() -> tuple[Network, ...]:
    return _trusted(tuple(settings.TRUSTED_PROXY_IPS))


def ip_parse(value: str | None) -> IPAddress | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:5678``, ``[2001:db8::1]:443``, ``2001:db8::1``), or None."""
    value = (value or "").strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has several colons
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # ::ffff:10.0.0.2 from a dual-stack socket is 10.0.0.2
    return address


def is_trusted_proxy(address: IPAddress | None, networks: tuple[Network, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, networks: tuple[Network, ...]) -> str | None:
    """The client's address: ``peer`` unless ``peer`` is a trusted proxy, and then the right-most
    ``forwarded_for`` entry that is not a trusted proxy (an unreadable entry ends the walk: the hop
    that wrote it is the last one known)."""
    address = ip_parse(peer)
    if not is_trusted_proxy(address, networks) or not forwarded_for:
        return peer
    for hop in reversed(forwarded_for.split(",")):
        hop_address = ip_parse(hop)
        if hop_address is None:
            break
        address = hop_address
        if not is_trusted_proxy(address, networks):
            break
    return str(address)


def forwarded_headers_apply(meta: dict) -> None:
    """Make ``meta`` say what is known: ``REMOTE_ADDR`` becomes the client's address, and the forwarded
    headers are removed, except ``X-Forwarded-Proto`` from a trusted proxy (``SECURE_PROXY_SSL_HEADER``
    reads it). Once per request: afterwards ``REMOTE_ADDR`` is no longer the peer."""
    networks = trusted_proxies()
    peer = meta.get("REMOTE_ADDR")
    trusted = is_trusted_proxy(ip_parse(peer), networks)
    if trusted:
        client = client_address(peer, meta.get("HTTP_X_FORWARDED_FOR"), networks)
        if client:
            meta["REMOTE_ADDR"] = client
    for header in FORWARDED_HEADERS:
        if not (trusted and header == "HTTP_X_FORWARDED_PROTO"):
            meta.pop(header, None)


class ForwardedHeadersMiddleware(DualModeMiddleware):
    """Runs before anything reads the client's address or the scheme (SecurityMiddleware's HTTPS
    redirect, allauth's per-address rate limits)."""

    def handle(self, request):
        forwarded_headers_apply(request.META)
        return self.get_response(request)

    async def __acall__(self, request):
        forwarded_headers_apply(request.META)
        return await self.get_response(request)
