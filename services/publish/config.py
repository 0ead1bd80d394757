"""Publish settings."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import KabarSettings

# For development and tests only; publish logs a warning at start-up while it is in use.
DEV_FORM_KEY = "kabar-development-comment-form-key"


class PublishSettings(KabarSettings):
    """Reader-side settings (env KABAR_*)."""

    site_name: str = "Kabar"
    default_locale: str = "id"
    page_size: int = 20
    max_query_chars: int = 500
    # Sitemaps may list at most 50,000 URLs each (sitemaps.org); tests lower it to exercise the split.
    sitemap_max_urls: int = 50_000
    # Browsers and shared caches other than Kabar's edge keep a page this long, and nothing can purge them,
    # so a withdrawn story, or its headline in a list, may live there as long. Short, then: 10 s plus at
    # most one stale answer per cache while it revalidates in the background (stale-while-revalidate; the
    # ETag mostly makes that a 304). Kabar's own edge reads Surrogate-Control instead (edge_* below).
    page_max_age: int = 10
    page_stale_while_revalidate: int = 30
    feed_max_age: int = 300
    # The edge (Varnish, deploy/varnish/kabar.vcl) keeps pages, feeds and sitemaps this long. The index
    # pipeline purges a story's pages the moment it changes (KABAR_EDGE_URLS), so this only bounds a page
    # whose purge never arrived. Search, /healthz and problems are never kept (Surrogate-Control: no-store).
    edge_max_age: int = Field(default=300, ge=0)
    # Past edge_max_age the edge answers from its copy while it refetches in the background (sent for
    # any surrogate-aware cache; kabar.vcl applies its own 30 s, req.grace while publish is healthy)...
    edge_stale_while_revalidate: int = Field(default=30, ge=0)
    # ...and while publish cannot answer (down, restarting, 5xx) it serves its copy this long: readers keep
    # getting pages through a publish restart. Purged pages are gone at once, so nothing withdrawn comes back.
    edge_stale_if_error: int = Field(default=86_400, ge=0)
    # Rendered article pages are served from memory this long (0 disables); a purge notice (sent for every
    # change, like the edge's purge) evicts them at once.
    page_cache_seconds: float = 5.0
    # After a purge, pages showing the purged stories are not cached this long: search sees a withdrawal
    # only after the next index refresh (1 s), and a page rendered before it must not be kept.
    purge_settle_seconds: float = 3.0
    # Bytes of rendered pages the page cache may hold per process; expired pages go first, then the least
    # recently used. Pages are 20-500 KB, so the default keeps a breaking-news front page plus some hundreds.
    page_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=0)
    # Operator endpoints (/metrics, /readyz, /docs, /redoc, /openapi.json) are never on the reader site;
    # they are served on this port of this host, by the same process. Loopback by default: set the host to
    # an internal interface for a scraper on another machine, never to one the public reaches. 0 turns
    # them off. /healthz (liveness, no details) stays on the reader port for load balancers.
    publish_operator_host: str = "127.0.0.1"
    publish_operator_port: int = Field(default=9102, ge=0, le=65535)
    # WebSub leases (POST /websub): the lease given when a subscriber asks for none, and the bounds any
    # requested lease is brought within. A subscription past its lease gets no content until renewed.
    websub_lease_seconds: int = Field(default=10 * 86_400, ge=1)
    websub_min_lease_seconds: int = Field(default=3_600, ge=1)
    websub_max_lease_seconds: int = Field(default=30 * 86_400, ge=1)
    # Reader comments (services/publish/comments). Comment pages past the first of a thread, and the form.
    comment_page_size: int = Field(default=20, ge=1, le=100)
    # Replies shown under one comment; a thread is one level deep, so this bounds a page's size.
    comment_max_replies: int = Field(default=50, ge=1, le=500)
    # Signs the form's CSRF tokens, ALTCHA challenges and arithmetic questions. The default is for development
    # and tests only: every deployment sets its own long random value (anyone who knows the key can mint
    # tokens and skip the proof of work). Changing it only invalidates forms that are open at that moment.
    comment_form_key: SecretStr = SecretStr(DEV_FORM_KEY)
    # ALTCHA proof of work: the browser tries up to this many SHA-256 hashes (half on average); 100,000 is
    # about a tenth of a second on a phone, and costs a bot that much per comment.
    comment_pow_max_number: int = Field(default=100_000, ge=1_000, le=10_000_000)
    # A form (its CSRF token, challenge and question) is good this long after it was opened.
    comment_form_ttl_seconds: int = Field(default=3_600, ge=60)
    # The no-JavaScript path (arithmetic question) refuses forms sent sooner than this after they were opened:
    # people take longer than that to write anything; scripts do not.
    # A thread's policy (open or closed, and its mode) is read from PostgreSQL at most this often per process
    # for the comment form and its POST; 0 reads it every time.
    comment_policy_cache_seconds: float = Field(default=5.0, ge=0)
    comment_min_fill_seconds: float = Field(default=3.0, ge=0)
