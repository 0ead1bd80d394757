"""Webhook building blocks without services: target URLs (a parser of newsroom input), signatures, bodies, backoff."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import time
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from standardwebhooks import Webhook

from services.index.notify.webhooks import backoff, delay_seconds
from shared.events import ArticleChange, ChangeKind
from shared.webhooks import (
    MAX_URL_CHARS,
    WebhookUrlError,
    event_body,
    is_public,
    new_secret,
    parse_target,
    pending_member,
    resolve,
    signed_headers,
)

# Pieces a hostile URL is made of: the characters URL parsers split on, and long runs of them.
_PIECES = st.sampled_from(
    [
        "http://",
        "https://",
        "ftp://",
        "@",
        ":",
        "[",
        "]",
        "::",
        "/",
        "?",
        "#",
        "%",
        "%00",
        ".",
        "a",
        "1",
        "\t",
        " ",
        "é",
    ]
)
_HOSTILE = st.lists(st.tuples(_PIECES, st.integers(1, 400)), max_size=12).map(lambda ps: "".join(p * n for p, n in ps))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.one_of(_HOSTILE, st.text(max_size=300), _HOSTILE.map(lambda s: "http://" + s)))
def test_parse_target_accepts_only_safe_http_urls_and_never_fails_otherwise(url: str) -> None:
    started = time.perf_counter()
    try:
        target = parse_target(url)
    except WebhookUrlError:
        pass
    else:
        assert len(url) <= MAX_URL_CHARS
        assert target.scheme in ("http", "https") and target.host and 0 < target.port < 65536
        assert "@" not in urlsplit(url).netloc and not any(ord(c) <= 0x20 for c in url)
        assert target.path.startswith("/")
    # Linear: a few thousand characters of the worst pieces parse in far less than a second (a quadratic
    # parser at this size takes seconds); generous for a busy shared machine.
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("url", "host", "port", "path"),
    [
        ("https://Example.ORG/hook?x=1#frag", "example.org", 443, "/hook?x=1"),
        ("http://example.org:8080", "example.org", 8080, "/"),
        ("http://[2606:4700::1111]/h", "2606:4700::1111", 80, "/h"),
    ],
)
def test_good_urls(url: str, host: str, port: int, path: str) -> None:
    target = parse_target(url)
    assert (target.host, target.port, target.path) == (host, port, path)


def test_pinned_url_keeps_the_name_for_host_and_tls() -> None:
    target = parse_target("https://hooks.example.org:8443/in?a=b")
    assert target.pinned_url(ipaddress.ip_address("93.184.215.14")) == "https://93.184.215.14:8443/in?a=b"
    assert target.host_header == "hooks.example.org:8443"
    assert (
        parse_target("http://[2606:4700::1111]/")
        .pinned_url(ipaddress.ip_address("2606:4700::1111"))
        .startswith("http://[2606:4700::1111]:80/")
    )


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1",
     "fe80::1", "fc00::1", "::ffff:10.0.0.1", "224.0.0.1", "ff02::1"],
)  # fmt: skip
def test_private_addresses_are_refused_unless_allowed(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(WebhookUrlError):
        resolve(parse_target(f"http://{host}/"), allow_private=False)
    assert resolve(parse_target(f"http://{host}/"), allow_private=True)


def test_signature_is_standard_webhooks() -> None:
    secret = new_secret()
    body = '{"a":1}'
    now = int(time.time())
    headers = signed_headers(secret=secret, message_id="u-1-published", body=body, timestamp=now)
    assert Webhook(secret).verify(body, headers) == {"a": 1}
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"u-1-published.{now}.{body}".encode(), hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_event_body_carries_the_change_its_url_and_type() -> None:
    change = ArticleChange(
        kind=ChangeKind.UPDATED, uid="abc", newsroom="n", external_id="e", revision=5, version=1, path="/metro/x"
    )
    body = json.loads(event_body(change, site_url="https://kabar.example/"))
    assert body["url"] == "https://kabar.example/metro/x" and body["type"] == "article.updated"
    assert body["event_id"] == "abc-5-updated" and body["schema_version"] == 1
    gone = change.model_copy(update={"path": None, "kind": ChangeKind.DELETED})
    assert json.loads(event_body(gone, site_url="https://kabar.example"))["url"] is None


def test_pending_members_sort_by_revision_beyond_double_precision() -> None:
    low, high = (1 << 60) + 1, (1 << 60) + 2  # equal as doubles (Redis scores), distinct here
    assert float(low) == float(high)
    assert (
        pending_member(low, "x-z")
        < pending_member(high, "x-a")
        < pending_member(2**62, "a")
        < pending_member(2**63 - 1, "a")
    )


def test_backoff_grows_and_is_capped_with_jitter() -> None:
    for attempt, cap in ((1, 2.0), (3, 8.0), (20, 300.0)):
        delay = backoff(attempt, base=2.0, cap=300.0)
        assert cap / 2 <= delay <= cap


def test_countdowns_are_even_whole_seconds() -> None:
    assert [delay_seconds(s) for s in (0, 0.2, 1, 2, 2.5, 3)] == [None, 2, 2, 2, 4, 4]


def test_secret_format() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32 and new_secret() != secret
