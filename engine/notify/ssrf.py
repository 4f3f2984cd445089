"""The outbound-connection guard of webhooks: no private, loopback, link-local, multicast, reserved or
unspecified address unless the administrator allowed the host. The check runs at connect time on the
address actually dialled (resolved once here), so DNS rebinding cannot slip a private address past it."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import httpcore

from engine.notify.errors import DeliveryError

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # IPv6 addresses that translate to an embedded IPv4 one


class TargetRefused(DeliveryError):
    """The target is not allowed (never retryable: the same address is refused next time too)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


def refusal(ip: IP) -> str | None:
    """Why `ip` may not be dialled, or None for a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refusal(embedded)
    for reason in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{reason}"):
            return reason.replace("_", "-")
    return None if ip.is_global else "not globally routable"


class HostPolicy:
    """Allow-list entries are host names ("erp.internal"), IP addresses or CIDR networks ("10.1.0.0/16")."""

    def __init__(self, allow_hosts: Iterable[str] = ()) -> None:
        self.names: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow_hosts:
            entry = _normal(entry)
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.names.add(entry)

    def check(self, host: str, ip: IP) -> None:
        if _normal(host) in self.names or any(ip in net for net in self.networks):
            return
        reason = refusal(ip)
        if reason is not None:
            named = f"{ip} is" if _normal(host) == str(ip) else f"{host} resolves to {ip},"
            raise TargetRefused(f"{named} a {reason} address: webhooks call it only if TANGRAM_WEBHOOK_ALLOW_HOSTS lists it")


def _normal(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves each host once, checks every address, then dials the checked IP itself (TLS still
    verifies and sends SNI for the original host name, which the connection passes separately)."""

    def __init__(
        self, policy: HostPolicy, resolver: Resolver = resolve, inner: httpcore.AsyncNetworkBackend | None = None
    ) -> None:
        self.policy, self.resolver = policy, resolver
        self.inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, **options: Any
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                addresses = [ipaddress.ip_address(a.partition("%")[0]) for a in await self.resolver(host, port)]
            except OSError as exc:
                raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise httpcore.ConnectError(f"{host} has no address")
        for ip in addresses:  # one refused address refuses the host: its answer is not to be trusted
            self.policy.check(host, ip)
        failure: Exception | None = None
        for ip in addresses:
            try:
                return await self.inner.connect_tcp(str(ip), port, timeout, **options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(host)

    async def connect_unix_socket(self, path: str, timeout: float | None = None, **options: Any) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks do not call unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)
