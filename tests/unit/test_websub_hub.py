"""The WebSub hub's parsers of outside data (topic URLs, subscription forms) and its callback SSRF guard.

Topics and forms come from anyone on the internet: each parser is string operations and one anchored,
non-overlapping pattern (linear), checked here with Hypothesis on adversarial input, sizes included.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.index.config import IndexSettings
from services.index.notify.indexnow import request_body
from services.publish.config import PublishSettings
from services.publish.websub import BadHubRequest, parse_form
from shared.websub import CallbackRefused, check_callback, feed_topics, link_header, parse_topic, signature

SITE = "https://kabar.example"
PUBLISH = PublishSettings(site_url=SITE, websub_lease_seconds=600, websub_min_lease_seconds=60)


def test_topics_round_trip() -> None:
    topics = feed_topics(SITE + "/", "olah-raga")
    assert topics == [
        f"{SITE}/rss.xml",
        f"{SITE}/atom.xml",
        f"{SITE}/olah-raga/rss.xml",
        f"{SITE}/olah-raga/atom.xml",
    ]
    for topic in topics:
        parsed = parse_topic(SITE, topic)
        assert parsed is not None and SITE + parsed.path == topic
    assert parse_topic(SITE, f"{SITE}/olah-raga/rss.xml").section == "olah-raga"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "topic",
    [
        "https://other.example/rss.xml",
        f"{SITE}/sitemap.xml",
        f"{SITE}/Olah/rss.xml",
        f"{SITE}/a/b/rss.xml",
        f"{SITE}/rss.xml?x=1",
        f"{SITE}//rss.xml",
        f"{SITE}/../rss.xml",
        f"{SITE}.evil/rss.xml",
        "",
    ],
)
def test_not_our_topics(topic: str) -> None:
    assert parse_topic(SITE, topic) is None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_parse_topic_never_raises_and_accepts_only_feed_urls(tail: str) -> None:
    parsed = parse_topic(SITE, f"{SITE}/{tail}")
    if parsed is not None:
        assert SITE + parsed.path == f"{SITE}/{tail}"
        assert parsed.file in {"rss.xml", "atom.xml"}


@pytest.mark.parametrize("size", [10_000, 200_000])
@pytest.mark.parametrize("unit", ["a-", "/", "a/", "rss.xml/", "-" * 7 + "a"])
def test_parse_topic_is_linear_on_adversarial_input(unit: str, size: int) -> None:
    topic = f"{SITE}/" + unit * (size // len(unit)) + "/rss.xml"
    start = time.perf_counter()
    assert parse_topic(SITE, topic) is None
    assert time.perf_counter() - start < 0.5


def form(**fields: str) -> bytes:
    return urlencode({f"hub.{k}": v for k, v in fields.items()}).encode()


def test_parse_form() -> None:
    request = parse_form(
        form(mode="subscribe", topic=f"{SITE}/rss.xml", callback="https://sub.example/cb?id=1", secret="s3"),
        settings=PUBLISH,
    )
    assert (request.mode, request.callback, request.secret, request.lease_seconds) == (
        "subscribe",
        "https://sub.example/cb?id=1",
        "s3",
        600,
    )
    base = {"mode": "subscribe", "topic": f"{SITE}/rss.xml", "callback": "https://sub.example/cb"}
    assert parse_form(form(**base, lease_seconds="5"), settings=PUBLISH).lease_seconds == 60  # raised to the min
    assert parse_form(form(**base, lease_seconds="9" * 10), settings=PUBLISH).lease_seconds == 30 * 86_400
    for bad in (
        form(topic=f"{SITE}/rss.xml", callback="https://sub.example/cb"),
        form(**{**base, "mode": "publish"}),
        form(**base, lease_seconds="1.5"),
        form(**base, lease_seconds="٣"),  # a digit to str.isdigit, not to a lease
        form(**base, secret="é" * 100),  # 200 bytes
        form(**base) + b"&hub.mode=unsubscribe",
        b"\xff\xfe",
        b"hub.mode=subscribe&" * 1000,
    ):
        with pytest.raises(BadHubRequest):
            parse_form(bad, settings=PUBLISH)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(str.encode))
def test_parse_form_only_raises_bad_request(body: bytes) -> None:
    try:
        request = parse_form(body, settings=PUBLISH)
    except BadHubRequest:
        return
    assert request.mode in {"subscribe", "unsubscribe"} and request.topic and request.callback


@pytest.mark.parametrize(
    "url",
    [
        "ftp://sub.example/cb",
        "javascript:alert(1)",
        "https://user:pw@sub.example/cb",
        "http://127.0.0.1/cb",
        "http://localhost:8080/cb",
        "http://10.1.2.3/cb",
        "http://192.168.0.10/cb",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/cb",
        "http://0.0.0.0/cb",
        "http://[::ffff:127.0.0.1]/cb",
        "http://host:notaport/cb",
    ],
)
def test_callbacks_refused(url: str) -> None:
    with pytest.raises(CallbackRefused):
        check_callback(url, allow_private=False)


def test_private_callbacks_when_allowed() -> None:
    check_callback("http://127.0.0.1:9/cb", allow_private=True)
    check_callback("http://93.184.215.14/cb", allow_private=False)  # a public address literal: no DNS
    with pytest.raises(CallbackRefused):
        check_callback("ftp://127.0.0.1/cb", allow_private=True)


def test_signature_and_link() -> None:
    # HMAC-SHA256 test vector from RFC 4231 (test case 2).
    assert signature("Jefe", b"what do ya want for nothing?") == (
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )
    assert link_header(SITE, f"{SITE}/rss.xml") == f'<{SITE}/websub>; rel="hub", <{SITE}/rss.xml>; rel="self"'


def test_indexnow_request_body() -> None:
    settings = IndexSettings(site_url="https://www.kabar.example/", indexnow_key="abcdef0123456789")
    urls = [f"https://www.kabar.example/a/{i}" for i in range(10_005)]
    body = request_body(settings, urls)
    assert body["host"] == "www.kabar.example" and body["key"] == "abcdef0123456789"
    assert body["keyLocation"] == "https://www.kabar.example/abcdef0123456789.txt"
    assert len(body["urlList"]) == 10_000  # type: ignore[arg-type]
