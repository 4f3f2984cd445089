"""The webhook guard classifies addresses (IPv4, IPv6, embedded IPv4) and dials only what it checked."""

import ipaddress

import httpcore
import pytest

from engine.notify.ssrf import GuardedBackend, HostPolicy, TargetRefused, refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"), ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"), ("0.0.0.0", "unspecified"), ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"), ("100.64.0.1", "not globally routable"), ("::1", "loopback"), ("::", "unspecified"),
        ("fe80::1", "link-local"), ("fd12:3456::1", "private"), ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("64:ff9b::a9fe:a9fe", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("93.184.215.14", None), ("8.8.8.8", None), ("2606:4700:4700::1111", None), ("::ffff:8.8.8.8", None),
    ],
)  # fmt: skip
def test_addresses_are_classified(address, reason):
    assert refusal(ipaddress.ip_address(address)) == reason


def test_the_allow_list_takes_names_addresses_and_networks():
    policy = HostPolicy(["ERP.internal.", "10.1.0.0/16", "[::1]"])
    policy.check("erp.internal", ipaddress.ip_address("10.9.9.9"))
    policy.check("anything.example", ipaddress.ip_address("10.1.2.3"))
    policy.check("::1", ipaddress.ip_address("::1"))
    with pytest.raises(TargetRefused, match=r"other.internal resolves to 10.2.0.1, a private address"):
        policy.check("other.internal", ipaddress.ip_address("10.2.0.1"))


class Dialled(httpcore.AsyncNetworkBackend):
    """Records where the guard dials instead of opening a socket (no public host is reachable here)."""

    def __init__(self):
        self.calls = []

    async def connect_tcp(self, host, port, timeout=None, **options):
        self.calls.append((host, port))
        raise httpcore.ConnectError("not really dialling")


async def test_a_host_is_resolved_once_and_the_checked_address_is_the_one_dialled():
    # A rebinding DNS server answers public first, private afterwards: the guard never asks twice.
    answers = [["93.184.215.14"], ["127.0.0.1"]]
    asked = []

    async def rebinding(host, port):
        asked.append(host)
        return answers[len(asked) - 1]

    inner = Dialled()
    with pytest.raises(httpcore.ConnectError):
        await GuardedBackend(HostPolicy(), rebinding, inner).connect_tcp("rebind.example", 443)
    assert asked == ["rebind.example"] and inner.calls == [("93.184.215.14", 443)]


async def test_one_private_answer_refuses_the_host_before_anything_is_dialled():
    async def mixed(host, port):
        return ["93.184.215.14", "10.0.0.7"]

    inner = Dialled()
    with pytest.raises(TargetRefused, match=r"10\.0\.0\.7"):
        await GuardedBackend(HostPolicy(), mixed, inner).connect_tcp("mixed.example", 443)
    assert inner.calls == []


async def test_every_checked_address_is_tried_in_turn():
    async def two(host, port):
        return ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]

    inner = Dialled()
    with pytest.raises(httpcore.ConnectError):
        await GuardedBackend(HostPolicy(), two, inner).connect_tcp("two.example", 80)
    assert [h for h, _ in inner.calls] == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]


async def test_unix_sockets_are_refused():
    with pytest.raises(TargetRefused):
        await GuardedBackend(HostPolicy()).connect_unix_socket("/var/run/docker.sock")
