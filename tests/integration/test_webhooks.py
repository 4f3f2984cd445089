"""Webhook calls against a real HTTP server on 127.0.0.1 (rules' "call a webhook" action, R4/R7 integrations):
signed JSON body, timeouts, retryable vs permanent failures, and the SSRF guard."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from engine.core.clock import FrozenClock
from engine.notify.webhook import MAX_EXCERPT_BYTES, WebhookError, deliver

SECRET = "whsec_" + base64.b64encode(b"a shared secret of the receiver").decode()
AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


class Receiver(BaseHTTPRequestHandler):
    """Answers by path: /ok, /status?code=503, /slow, /big, /redirect?to=<url>, /hops (a redirect loop)."""

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        self.server.received.append({"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)})
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/slow":
            time.sleep(1.5)
        if url.path == "/redirect":
            return self._answer(int(query.get("code", 307)), b"", {"Location": query["to"]})
        if url.path == "/hops":
            return self._answer(308, b"", {"Location": "/hops"})
        if url.path == "/status":
            return self._answer(int(query["code"]), b"nope", {"Retry-After": "30"})
        body = b"x" * (MAX_EXCERPT_BYTES * 50) if url.path == "/big" else b'{"thanks":true}'
        self._answer(200, body, {"Content-Type": "application/json"})

    def _answer(self, code, body, headers):
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading: what /big is for
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    httpd.daemon_threads, httpd.block_on_close, httpd.received = True, False, []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def base(server, host="127.0.0.1"):
    return f"http://{host}:{server.server_address[1]}"


async def call(url, body=None, *, allow=("127.0.0.1",), secret=SECRET, timeout=5.0, key="job-7:action-0"):
    body = body if body is not None else {"event": "order.paid", "id": 7}
    return await deliver(url, body, secret=secret, timeout=timeout, idempotency_key=key, allow_hosts=allow, clock=FrozenClock(AT))


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (the snippet docs/notifications.md shows)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s.partition(",")[2]) for s in headers["webhook-signature"].split())


async def test_the_receiver_gets_the_json_body_and_a_signature_it_can_verify(server):
    body = {"event": "order.paid", "amount": Decimal("1250.50"), "paid_at": AT, "customer": "客户"}
    delivery = await call(f"{base(server)}/ok", body)
    assert (delivery.status, delivery.excerpt) == (200, '{"thanks":true}') and delivery.elapsed >= 0
    [got] = server.received
    headers = {k.lower(): v for k, v in got["headers"].items()}
    assert json.loads(got["body"]) == {
        "event": "order.paid",
        "amount": 1250.5,
        "paid_at": "2026-11-23T09:30:00Z",
        "customer": "客户",
    }
    assert headers["content-type"] == "application/json"
    assert (headers["webhook-id"], headers["webhook-timestamp"]) == ("job-7:action-0", str(int(AT.timestamp())))
    assert verify(SECRET, headers, got["body"])
    assert not verify(SECRET, headers, got["body"].replace(b"1250.5", b"9999.9"))


async def test_a_plain_secret_signs_with_its_utf8_bytes_and_no_secret_sends_no_signature(server):
    await call(f"{base(server)}/ok", secret="plain-secret")
    await call(f"{base(server)}/ok", secret=None)
    signed, unsigned = ({k.lower(): v for k, v in r["headers"].items()} for r in server.received)
    message = f"{signed['webhook-id']}.{signed['webhook-timestamp']}.".encode() + server.received[0]["body"]
    digest = base64.b64encode(hmac.new(b"plain-secret", message, hashlib.sha256).digest()).decode()
    assert signed["webhook-signature"] == f"v1,{digest}"
    assert "webhook-signature" not in unsigned


async def test_server_errors_and_429_are_retryable_and_client_errors_are_not(server):
    for code, retryable in ((503, True), (500, True), (429, True), (408, True), (400, False), (404, False), (410, False)):
        with pytest.raises(WebhookError) as caught:
            await call(f"{base(server)}/status?code={code}")
        assert (caught.value.status, caught.value.retryable) == (code, retryable)
        assert caught.value.excerpt == "nope" and caught.value.retry_after == 30


async def test_a_slow_receiver_times_out_as_a_retryable_error(server):
    with pytest.raises(WebhookError) as caught:
        await call(f"{base(server)}/slow", timeout=0.3)
    assert caught.value.retryable and "0.3" in str(caught.value)


async def test_an_unreachable_receiver_is_retryable(server):
    port = server.server_address[1]
    server.shutdown()
    server.server_close()  # nothing listens on the port any more
    with pytest.raises(WebhookError) as caught:
        await call(f"http://127.0.0.1:{port}/ok")
    assert caught.value.retryable


async def test_the_response_is_read_only_up_to_the_cap(server):
    delivery = await call(f"{base(server)}/big")
    assert delivery.status == 200 and len(delivery.excerpt) == MAX_EXCERPT_BYTES


async def test_redirects_are_followed_with_the_same_signed_post_at_most_three_times(server):
    delivery = await call(f"{base(server)}/redirect?to=/ok")
    assert delivery.status == 200 and [r["path"] for r in server.received] == ["/redirect?to=/ok", "/ok"]
    assert server.received[0]["body"] == server.received[1]["body"]
    assert verify(SECRET, {k.lower(): v for k, v in server.received[1]["headers"].items()}, server.received[1]["body"])
    with pytest.raises(WebhookError) as caught:
        await call(f"{base(server)}/hops")
    assert not caught.value.retryable and "redirects" in str(caught.value) and len(server.received) == 2 + 4


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/ok",
        "http://localhost:{port}/ok",  # a name resolving to loopback
        "http://[::1]:{port}/ok",
        "http://[::ffff:127.0.0.1]:{port}/ok",  # IPv4-mapped IPv6
        "http://2130706433:{port}/ok",  # 127.0.0.1 spelled as one number
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://0.0.0.0:{port}/ok",
        "http://224.0.0.1/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
    ],
)
async def test_private_loopback_and_link_local_targets_are_refused_unless_allowed(server, url):
    with pytest.raises(WebhookError) as caught:
        await call(url.format(port=server.server_address[1]), allow=())
    assert not caught.value.retryable and "TANGRAM_WEBHOOK_ALLOW_HOSTS" in str(caught.value)
    assert server.received == []


async def test_a_redirect_to_a_host_that_is_not_allowed_is_refused(server):
    # 127.0.0.1 is allowed, 127.0.0.2 (loopback too) is not: the guard checks every hop.
    evil = f"http://127.0.0.2:{server.server_address[1]}/ok"
    with pytest.raises(WebhookError) as caught:
        await call(f"{base(server)}/redirect?to={evil}&code=302")
    assert not caught.value.retryable and "127.0.0.2" in str(caught.value)
    assert [r["path"] for r in server.received] == [f"/redirect?to={evil}&code=302"]


async def test_an_allowed_host_name_may_resolve_to_loopback(server):
    delivery = await call(f"{base(server, 'localhost')}/ok", allow=("LOCALHOST",))
    assert delivery.status == 200


async def test_an_allowed_network_admits_its_addresses(server):
    assert (await call(f"{base(server)}/ok", allow=("127.0.0.0/8",))).status == 200


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///nohost", "http://example.com:99999/"])
async def test_only_http_and_https_urls_with_a_host_are_called(url):
    with pytest.raises(WebhookError) as caught:
        await call(url)
    assert not caught.value.retryable


async def test_a_body_that_is_not_json_is_a_permanent_error():
    with pytest.raises(WebhookError) as caught:
        await call("http://127.0.0.1:9/ok", {"value": float("nan")})
    assert not caught.value.retryable and "JSON" in str(caught.value)


async def test_an_idempotency_key_that_cannot_be_a_header_is_a_permanent_error(server):
    with pytest.raises(WebhookError) as caught:
        await call(f"{base(server)}/ok", key="job-1\r\nX-Evil: 1")
    assert not caught.value.retryable and server.received == []
