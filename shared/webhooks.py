"""Newsroom webhooks: subscriptions, target-URL safety, Standard Webhooks signing, and their Redis layout.

Ingest manages subscriptions through the newsroom API; the notify workers record, order and deliver events.
Both go through `WebhookStore`, the one owner of the `{prefix}:webhooks:*` keys:

- `sub:{id}` (hash) one subscription; `newsroom:{newsroom}` (sorted set, by creation time) its ids;
- `event:{event_id}` the exact body every subscriber is sent (signatures cover these bytes);
- `pending:{sub}:{uid}` (sorted set) one article's events not yet delivered to one subscriber, as members
  `{revision:019d}:{event_id}` so the lowest member is the lowest revision (scores are doubles and would
  round revisions above 2**53, where the per-article counter lives in the low bits);
- `done:{sub}:{event_id}` / `dead:{sub}:{event_id}` what became of an event (so a redelivered indexing
  batch is not told twice, and a dead letter replayed through RabbitMQ is known as a replay);
- `lock:{sub}:{uid}` one delivery in flight per subscriber and article; `log:{sub}` the delivery log.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import secrets
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from redis import Redis
from standardwebhooks import Webhook

from shared.events import ArticleChange, ChangeKind

MAX_URL_CHARS = 2000
SECRET_PREFIX = "whsec_"  # noqa: S105 (the Standard Webhooks prefix, not a secret)
ALL_KINDS: tuple[ChangeKind, ...] = tuple(ChangeKind)
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Host names in ASCII (IDN hosts in their xn-- form); IPv6 literals come out of urlsplit without brackets.
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")


class WebhookUrlError(ValueError):
    """A subscriber URL Kabar will not send to."""


@dataclass(frozen=True)
class Target:
    """A parsed subscriber URL: where to connect, and what the request names as its host."""

    scheme: str
    host: str
    port: int
    path: str

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"

    def pinned_url(self, address: IPAddress) -> str:
        """The URL with the host replaced by an address already checked: nothing resolves the name again."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_target(url: str) -> Target:
    """Parse a subscriber URL (linear time): http(s), a host, no credentials, at most MAX_URL_CHARS."""
    from urllib.parse import urlsplit

    if len(url) > MAX_URL_CHARS:
        raise WebhookUrlError(f"the URL is longer than {MAX_URL_CHARS} characters")
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise WebhookUrlError("the URL has spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookUrlError(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookUrlError("only http and https URLs are allowed")
    if "@" in parts.netloc:
        raise WebhookUrlError("the URL must not carry credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookUrlError("the URL has no host")
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise WebhookUrlError("the URL's host is not a valid IPv6 address") from None
    elif not set(host) <= _HOST_CHARS:
        raise WebhookUrlError("the URL's host must be ASCII (an international name in its xn-- form)")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80), path=path)


def is_public(address: IPAddress) -> bool:
    """An address on the public internet: not loopback, private, link-local, shared, reserved or multicast."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolve(target: Target, *, allow_private: bool) -> list[IPAddress]:
    """The target's addresses, every one of them public unless private targets are allowed.

    Checked at subscription and again at each delivery (a name can be pointed elsewhere after the check);
    the delivery then connects to the checked address itself (Target.pinned_url).
    """
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(target.host)]
    except ValueError:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise WebhookUrlError(f"the URL's host does not resolve: {exc}") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    if not addresses:
        raise WebhookUrlError("the URL's host does not resolve")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise WebhookUrlError("the URL points at a loopback, private or link-local address")
    return addresses


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(*, secret: str, message_id: str, body: str, timestamp: int) -> dict[str, str]:
    """Standard Webhooks headers: `v1,` + base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the secret."""
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body)
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def event_body(change: ArticleChange, *, site_url: str) -> str:
    """What every subscriber receives for a change: the ArticleChange, its reader URL and its type."""
    body = change.model_dump(mode="json")
    body["type"] = f"article.{change.kind.value}"
    body["url"] = site_url.rstrip("/") + change.path if change.path else None
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def pending_member(revision: int, event_id: str) -> str:
    """A pending entry: sorts by revision as text (zero-padded; revisions are below 2**63 < 10**19)."""
    return f"{revision:019d}:{event_id}"


class Subscription(BaseModel):
    """One newsroom's subscription; the secret never leaves Kabar except once, when made or rotated."""

    id: str
    newsroom: str
    url: str
    events: list[ChangeKind]
    description: str | None = None
    created_at: datetime
    secret: str = Field(repr=False)


Outcome = Literal["delivered", "retrying", "dead"]


class DeliveryRecord(BaseModel):
    """One delivery attempt, as the newsroom reads it in the delivery log."""

    event_id: str
    uid: str
    external_id: str | None = None
    kind: str | None = None
    attempt: int
    status_code: int | None = None
    error: str | None = None
    duration_ms: float
    at: datetime
    outcome: Outcome


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# Creates a subscription unless the newsroom already has `max` of them.
_CREATE = """
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[3])))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
return 1
"""

# The notifier's one round trip for a batch of changes: for each subscription of the change's newsroom that
# wants its kind, and was not already told of it (done or dead), store the body and record a pending entry.
# Returns (sub, event_id, uid, pending member) for each delivery task to send.
_RECORD = """
local base = ARGV[1] .. ':webhooks:'
local ttl = tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV, 6 do
  local newsroom, uid, eid, member, kind, body = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4], ARGV[i+5]
  local stored = false
  for _, sub in ipairs(redis.call('ZRANGE', base .. 'newsroom:' .. newsroom, 0, -1)) do
    local events = redis.call('HGET', base .. 'sub:' .. sub, 'events')
    if events and string.find(events, ',' .. kind .. ',', 1, true)
       and redis.call('EXISTS', base .. 'done:' .. sub .. ':' .. eid, base .. 'dead:' .. sub .. ':' .. eid) == 0 then
      if not stored then
        redis.call('SET', base .. 'event:' .. eid, body, 'EX', ttl)
        stored = true
      end
      local pending = base .. 'pending:' .. sub .. ':' .. uid
      redis.call('ZADD', pending, 0, member)
      redis.call('EXPIRE', pending, ttl)
      table.insert(out, sub)
      table.insert(out, eid)
      table.insert(out, uid)
      table.insert(out, member)
    end
  end
end
return out
"""

# A delivery task's claim: gone (no subscription), done (not pending: already delivered), wait (a lower
# revision of the article is pending for this subscriber), busy (another delivery of the article in
# flight), expired (the body is gone), or go with the body, url and secret. A dead event is a replay:
# it goes back to pending first.
_CLAIM = """
local sub, pending, dead, lock, event = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local member, token, lock_ms, force = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', sub) == 0 then
  redis.call('ZREM', pending, member)
  return {'gone'}
end
local replay = redis.call('DEL', dead)
if replay == 1 then redis.call('ZADD', pending, 0, member) end
if not redis.call('ZSCORE', pending, member) then return {'done'} end
local first = redis.call('ZRANGE', pending, 0, 0)[1]
if first < member and force ~= '1' then return {'wait', first} end
if not redis.call('SET', lock, token, 'NX', 'PX', lock_ms) then return {'busy'} end
local body = redis.call('GET', event)
if not body then
  redis.call('ZREM', pending, member)
  redis.call('DEL', lock)
  return {'expired'}
end
local fields = redis.call('HMGET', sub, 'url', 'secret')
return {'go', body, fields[1], fields[2], tostring(replay)}
"""

# The end of one attempt: unlock, log it, and for delivered/dead take the event out of pending and mark it.
_FINISH = """
local pending, lock, mark, log = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, token, outcome, entry, log_size, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
if redis.call('GET', lock) == token then redis.call('DEL', lock) end
if outcome ~= 'retrying' then
  redis.call('ZREM', pending, member)
  redis.call('SET', mark, '1', 'EX', ttl)
end
redis.call('LPUSH', log, entry)
redis.call('LTRIM', log, 0, tonumber(log_size) - 1)
redis.call('EXPIRE', log, ttl)
return 1
"""

# Redeliver through the API: the event (if still stored) goes back to pending, whatever became of it.
_REQUEUE = """
local pending, done, dead, event = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
if redis.call('EXISTS', event) == 0 then return 0 end
redis.call('DEL', done, dead)
redis.call('ZADD', pending, 0, ARGV[1])
redis.call('EXPIRE', pending, ARGV[2])
return 1
"""


@dataclass(frozen=True)
class Claim:
    """What a delivery task may do now (see _CLAIM)."""

    state: Literal["gone", "done", "wait", "busy", "expired", "go"]
    body: str = ""
    url: str = ""
    secret: str = ""
    replay: bool = False


@dataclass(frozen=True)
class Recorded:
    """A delivery to send: one event for one subscriber."""

    subscription_id: str
    event_id: str
    uid: str
    revision: int


class WebhookStore:
    """Every Redis key of the webhooks under `{prefix}:webhooks:` (see the module docstring)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.base = f"{prefix}:webhooks:"
        self.prefix = prefix
        self._create = redis.register_script(_CREATE)
        self._record = redis.register_script(_RECORD)
        self._claim = redis.register_script(_CLAIM)
        self._finish = redis.register_script(_FINISH)
        self._requeue = redis.register_script(_REQUEUE)

    def _sub(self, sub_id: str) -> str:
        return f"{self.base}sub:{sub_id}"

    def _newsroom(self, newsroom: str) -> str:
        return f"{self.base}newsroom:{newsroom}"

    def _log(self, sub_id: str) -> str:
        return f"{self.base}log:{sub_id}"

    def _pending(self, sub_id: str, uid: str) -> str:
        return f"{self.base}pending:{sub_id}:{uid}"

    def _event(self, event_id: str) -> str:
        return f"{self.base}event:{event_id}"

    # Subscriptions (ingest).

    def create(
        self, *, newsroom: str, url: str, events: list[ChangeKind], description: str | None, max_per_newsroom: int
    ) -> Subscription | None:
        """A new subscription with a fresh secret; None when the newsroom already has its maximum."""
        sub = Subscription(
            id=f"wh_{uuid.uuid4().hex}",
            newsroom=newsroom,
            url=url,
            events=[k for k in ALL_KINDS if k in events],
            description=description,
            created_at=datetime.now(UTC),
            secret=new_secret(),
        )
        fields = [
            "id", sub.id, "newsroom", newsroom, "url", url, "secret", sub.secret,
            "events", "," + ",".join(k.value for k in sub.events) + ",",
            "description", description or "", "created_at", sub.created_at.isoformat(),
        ]  # fmt: skip
        keys = [self._sub(sub.id), self._newsroom(newsroom)]
        args: list[str | int | float] = [max_per_newsroom, time.time(), json.dumps(fields), sub.id]
        return sub if self._create(keys=keys, args=args) else None

    def get(self, *, newsroom: str, sub_id: str) -> Subscription | None:
        """The subscription, if it exists and belongs to this newsroom."""
        raw = {_text(k): _text(v) for k, v in self.redis.hgetall(self._sub(sub_id)).items()}
        if not raw or raw.get("newsroom") != newsroom:
            return None
        return Subscription(
            id=raw["id"],
            newsroom=raw["newsroom"],
            url=raw["url"],
            events=[ChangeKind(k) for k in raw["events"].split(",") if k],
            description=raw.get("description") or None,
            created_at=datetime.fromisoformat(raw["created_at"]),
            secret=raw["secret"],
        )

    def of_newsroom(self, *, newsroom: str) -> list[Subscription]:
        """The newsroom's subscriptions, oldest first."""
        ids = [_text(i) for i in self.redis.zrange(self._newsroom(newsroom), 0, -1)]
        subs = (self.get(newsroom=newsroom, sub_id=i) for i in ids)
        return [s for s in subs if s is not None]

    def delete(self, *, newsroom: str, sub_id: str) -> bool:
        """Remove a subscription and its log; its pending entries go with their next delivery task."""
        if self.get(newsroom=newsroom, sub_id=sub_id) is None:
            return False
        pipe = self.redis.pipeline()
        pipe.delete(self._sub(sub_id), self._log(sub_id))
        pipe.zrem(self._newsroom(newsroom), sub_id)
        pipe.execute()
        return True

    def rotate(self, *, newsroom: str, sub_id: str) -> Subscription | None:
        """A new secret for the subscription; deliveries from now on are signed with it."""
        sub = self.get(newsroom=newsroom, sub_id=sub_id)
        if sub is None:
            return None
        secret = new_secret()
        self.redis.hset(self._sub(sub_id), "secret", secret)
        return sub.model_copy(update={"secret": secret})

    def deliveries(self, sub_id: str, *, limit: int) -> list[DeliveryRecord]:
        """The newest `limit` delivery attempts, newest first."""
        raw = self.redis.lrange(self._log(sub_id), 0, max(limit, 1) - 1)
        return [DeliveryRecord.model_validate_json(r) for r in raw]

    def event(self, event_id: str) -> dict[str, Any] | None:
        """A stored event body, parsed (None once its retention ran out)."""
        raw = self.redis.get(self._event(event_id))
        return json.loads(raw) if raw else None

    def requeue(self, *, sub_id: str, event_id: str, uid: str, revision: int, ttl: int) -> bool:
        """Put a stored event back in the subscriber's pending entries (redeliver); False if it is gone."""
        keys = [
            self._pending(sub_id, uid),
            f"{self.base}done:{sub_id}:{event_id}",
            f"{self.base}dead:{sub_id}:{event_id}",
            self._event(event_id),
        ]
        return bool(self._requeue(keys=keys, args=[pending_member(revision, event_id), ttl]))

    def unqueue(self, *, sub_id: str, event_id: str, uid: str, revision: int, ttl: int) -> None:
        """Undo requeue() when its task could not be sent: out of pending (so nothing waits on it), marked dead."""
        pipe = self.redis.pipeline()
        pipe.zrem(self._pending(sub_id, uid), pending_member(revision, event_id))
        pipe.set(f"{self.base}dead:{sub_id}:{event_id}", "1", ex=ttl)
        pipe.execute()

    # Delivery (workers).

    def record(self, changes: list[tuple[ArticleChange, str]], *, ttl: int) -> list[Recorded]:
        """Record (change, body) pairs for every subscription that wants them, in one script call."""
        args: list[str | int | float] = [self.prefix, ttl]
        for change, body in changes:
            member = pending_member(change.revision, change.event_id)
            args += [change.newsroom, change.uid, change.event_id, member, change.kind.value, body]
        out = [_text(x) for x in self._record(args=args)]
        return [Recorded(out[i], out[i + 1], out[i + 2], int(out[i + 3][:19])) for i in range(0, len(out), 4)]

    def claim(
        self, *, sub_id: str, event_id: str, uid: str, revision: int, token: str, lock_ms: int, force: bool
    ) -> Claim:
        """Whether this delivery may go now; `force` skips the wait for lower revisions."""
        keys = [
            self._sub(sub_id),
            self._pending(sub_id, uid),
            f"{self.base}dead:{sub_id}:{event_id}",
            f"{self.base}lock:{sub_id}:{uid}",
            self._event(event_id),
        ]
        args: list[str | int | float] = [pending_member(revision, event_id), token, lock_ms, int(force)]
        reply = [_text(x) for x in self._claim(keys=keys, args=args)]
        if reply[0] != "go":
            return Claim(state=reply[0])  # type: ignore[arg-type]
        return Claim(state="go", body=reply[1], url=reply[2], secret=reply[3], replay=reply[4] == "1")

    def finish(
        self, *, sub_id: str, uid: str, revision: int, token: str, record: DeliveryRecord, log_size: int, ttl: int
    ) -> None:
        """Unlock, log the attempt, and take a delivered or dead event out of pending."""
        mark = "done" if record.outcome == "delivered" else "dead"
        keys = [
            self._pending(sub_id, uid),
            f"{self.base}lock:{sub_id}:{uid}",
            f"{self.base}{mark}:{sub_id}:{record.event_id}",
            self._log(sub_id),
        ]
        member = pending_member(revision, record.event_id)
        self._finish(keys=keys, args=[member, token, record.outcome, record.model_dump_json(), log_size, ttl])
