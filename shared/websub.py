"""WebSub (W3C Recommendation) with Kabar as its own hub: the topics, the subscription store, signatures.

Publish takes subscription requests (services/publish/websub.py); the notify workers verify intent and
distribute content (services/index/notify/websub.py). Both read topics and subscriptions through here.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import re
import socket
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from redis import Redis

HUB_PATH = "/websub"
FEED_FILES = ("rss.xml", "atom.xml")
FEED_TYPES = {"rss.xml": "application/rss+xml; charset=utf-8", "atom.xml": "application/atom+xml; charset=utf-8"}
# A section slug as shared/article.py makes it (slugify: lower-case ASCII words joined by hyphens).
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,79}", re.ASCII)
# The spec caps hub.secret below 200 bytes.
MAX_SECRET_BYTES = 199
MAX_CALLBACK_CHARS = 2000

Mode = Literal["subscribe", "unsubscribe"]


def site_base(site_url: str) -> str:
    return site_url.rstrip("/")


def hub_url(site_url: str) -> str:
    """The hub every Kabar feed advertises (rel="hub")."""
    return site_base(site_url) + HUB_PATH


def feed_topics(site_url: str, section_slug: str | None) -> list[str]:
    """The feed URLs a change to a story of this section changes: the home feeds and the section's."""
    base = site_base(site_url)
    topics = [f"{base}/{name}" for name in FEED_FILES]
    if section_slug and _SLUG.fullmatch(section_slug):
        topics += [f"{base}/{section_slug}/{name}" for name in FEED_FILES]
    return topics


@dataclass(frozen=True)
class Topic:
    """A feed Kabar serves: the section (None: the home feed) and the file (rss.xml or atom.xml)."""

    url: str
    section: str | None
    file: str

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.file}" if self.section else f"/{self.file}"

    @property
    def content_type(self) -> str:
        return FEED_TYPES[self.file]


def parse_topic(site_url: str, topic: str) -> Topic | None:
    """The feed this URL names, or None when it is not one of Kabar's feed URLs (string checks only: linear)."""
    base = site_base(site_url)
    if len(topic) > 300 or not topic.startswith(base + "/"):
        return None
    parts = topic[len(base) + 1 :].split("/")
    if len(parts) == 1 and parts[0] in FEED_FILES:
        return Topic(url=topic, section=None, file=parts[0])
    if len(parts) == 2 and parts[1] in FEED_FILES and _SLUG.fullmatch(parts[0]):
        return Topic(url=topic, section=parts[0], file=parts[1])
    return None


def link_header(site_url: str, topic: str) -> str:
    """The HTTP Link header naming the hub and the topic (the spec's discovery, also sent with content)."""
    return f'<{hub_url(site_url)}>; rel="hub", <{topic}>; rel="self"'


def signature(secret: str, body: bytes) -> str:
    """X-Hub-Signature value: sha256=<hex HMAC of the exact body with the subscriber's secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class CallbackRefused(ValueError):
    """A callback URL the hub will not call (not http(s), or pointing at a private address)."""


def check_callback(url: str, *, allow_private: bool) -> None:
    """Refuse anything but an http(s) URL whose host resolves to public addresses only (SSRF guard).

    Checked when the request arrives and again before each call (a name may resolve elsewhere later).
    `allow_private` (KABAR_WEBSUB_ALLOW_PRIVATE_CALLBACKS) lets loopback and private hosts through: tests,
    or a deployment whose subscribers are on its own network.
    """
    if len(url) > MAX_CALLBACK_CHARS:
        raise CallbackRefused("hub.callback is too long.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise CallbackRefused("hub.callback is not a URL.") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise CallbackRefused("hub.callback must be an http or https URL.")
    if parts.username or parts.password:
        raise CallbackRefused("hub.callback must not carry credentials.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError) as exc:
        raise CallbackRefused("hub.callback's host does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise CallbackRefused("hub.callback must be a public address.")


@dataclass(frozen=True)
class Subscription:
    """One active or expired subscription of one callback to one topic."""

    topic: str
    callback: str
    expires_at: float
    secret: str | None = None

    def active(self, now: float | None = None) -> bool:
        return (now if now is not None else time.time()) < self.expires_at


class SubscriptionStore:
    """Subscriptions in Redis: one hash per topic ({prefix}:websub:subs:<digest>), callback -> JSON."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def key(self, kind: str, topic: str) -> str:
        # A digest keeps keys short and free of URL characters whatever the site URL is.
        digest = hashlib.sha256(topic.encode()).hexdigest()[:32]
        return f"{self.prefix}:websub:{kind}:{digest}"

    def add(self, sub: Subscription) -> None:
        record = {"topic": sub.topic, "secret": sub.secret, "expires_at": sub.expires_at}
        self.redis.hset(self.key("subs", sub.topic), sub.callback, json.dumps(record))

    def remove(self, topic: str, callback: str) -> bool:
        return bool(self.redis.hdel(self.key("subs", topic), callback))

    def get(self, topic: str, callback: str) -> Subscription | None:
        raw = self.redis.hget(self.key("subs", topic), callback)
        return _decode(topic, callback, raw) if raw is not None else None

    def active(self, topic: str, now: float | None = None) -> list[Subscription]:
        """The topic's unexpired subscriptions; expired ones are dropped from the store on the way."""
        now = time.time() if now is None else now
        subs = [_decode(topic, cb, raw) for cb, raw in self.redis.hgetall(self.key("subs", topic)).items()]
        expired = [s.callback for s in subs if not s.active(now)]
        if expired:
            self.redis.hdel(self.key("subs", topic), *expired)
        return [s for s in subs if s.active(now)]


def _decode(topic: str, callback: str | bytes, raw: str | bytes) -> Subscription:
    record = json.loads(raw)
    return Subscription(
        topic=topic,
        callback=callback.decode() if isinstance(callback, bytes) else callback,
        expires_at=float(record["expires_at"]),
        secret=record.get("secret"),
    )
