vcl 4.1;
# Kabar's edge cache: Varnish 7.1 with varnish-modules' xkey, in front of publish (the reader site).
#
# - What a page shows and how long it may be kept come from publish (services/publish/surrogate.py):
#   `xkey` names the stories and lists a page shows; `Surrogate-Control` is the edge's lifetime (max-age,
#   stale-while-revalidate, stale-if-error). Both are stripped here. No Surrogate-Control, or no-store:
#   never kept (fail closed). Browsers get publish's own, shorter Cache-Control.
# - The index pipeline purges a change's keys with `PURGE /` + `xkey-purge` (services/index/edge). Purges
#   are hard: a purged page keeps no grace copy, so a withdrawn story never comes back from grace.
# - Withdrawn stories: the pipeline also asks for a tombstone per article URL (`PURGE <url>` +
#   `X-Kabar-Tombstone: <uid>`). The edge stores its own 410 under that URL, tagged `gone:<uid>`, with a
#   long grace, and answers it without publish: 410 at the edge even while publish is down, where a purge
#   alone would leave a 503 (nothing cached) and no purge at all a stale page. A republish purges
#   `gone:<uid>`. Why cached objects and not vmod var's globals (a table the edge would check on every
#   request): var's globals are a linked list scanned under one mutex per lookup, never freed, so every
#   withdrawn story ever would slow every request; cached tombstones are hashed, bounded by the cache
#   (LRU) and expire with their grace.
# - While publish answers, a copy is served at most 30 s past its lifetime (while it refetches); while
#   publish is down (probe sick, or a fetch fails), copies are served for their whole grace.
# - Conditional requests (ETag / Last-Modified -> 304) and gzip are answered here from the stored copy.
#
# The backends, kabar_to_publish and kabar_to_ingest (which pick them: one backend each, or a director over
# several replicas), the purgers' ACL and kabar_may_purge come from kabar-backends.vcl, one per deployment:
# scripts/services.sh and harness/edge.py fill local-backends.vcl.in for loopback; compose-backends.vcl is
# compose's, compose-cluster-backends.vcl the cluster override's (two of each, round-robin). Nothing here
# names a backend. /.edge/health answers 200 from Varnish itself.

import std;
import xkey;

probe publish_health {
    .url = "/healthz";
    .interval = 1s;
    .timeout = 1s;
    .window = 3;
    .threshold = 2;
    .initial = 2;
}

include "kabar-backends.vcl";

sub vcl_recv {
    # Markers this file sets on restarts; a client cannot send them.
    if (req.restarts == 0) {
        unset req.http.X-Kabar-Install;
        unset req.http.X-Kabar-Sick;
        unset req.http.X-Kabar-Pass;
        unset req.http.X-Kabar-Purged;
    }
    if (req.method == "PURGE") {
        call kabar_purge;
    }
    if (req.url == "/.edge/health") {
        # Varnish itself is up (scripts, compose and tests wait on it); says nothing about publish.
        return (synth(200, "OK"));
    }
    if (req.http.X-Kabar-Install) {
        # A tombstone being stored: always a fresh object (vcl_backend_fetch makes it), never a lookup.
        call kabar_to_publish;
        set req.hash_always_miss = true;
        return (hash);
    }
    # The newsroom API: straight to ingest, never cached (authenticated, and every answer is live state).
    if (req.url ~ "^/v1(/|$)") {
        call kabar_to_ingest;
        set req.http.X-Kabar-Pass = "1";
        return (pass);
    }
    call kabar_to_publish;
    if (req.method != "GET" && req.method != "HEAD") {
        set req.http.X-Kabar-Pass = "1";
        return (pass);
    }
    # Search and operator/private endpoints are never cached, whatever the backend says. (Publish serves
    # /readyz, /metrics and /docs on its operator port only; were they ever here, they would pass.)
    if (req.http.Authorization
        || req.url ~ "^/(healthz|readyz|metrics|docs|redoc|openapi\.json)(/|\?|$)"
        || req.url ~ "^/cari(\?|$)"
        || req.url ~ "^/api/v1/(search|suggest)(/|\?|$)") {
        set req.http.X-Kabar-Pass = "1";
        return (pass);
    }
    # Publish neither sets nor reads cookies: they must not split the cache.
    unset req.http.Cookie;
    # Article URLs: only the language changes the page, so every other query (tracking tags, junk) shares
    # one copy, and the tombstones (one per variant, shared/purge.py tombstone_paths) cover all of them.
    if (req.url ~ "^/[^/?]+/[0-9]{4}/[0-9]{2}/[0-9]{2}/[^/?]+\?") {
        if (req.url ~ "[?&]lang=en(&|$)") {
            set req.url = regsub(req.url, "\?.*$", "?lang=en");
        } elsif (req.url ~ "[?&]lang=id(&|$)") {
            set req.url = regsub(req.url, "\?.*$", "?lang=id");
        } else {
            set req.url = regsub(req.url, "\?.*$", "");
        }
    }
    # With publish healthy, a copy past its lifetime is served only briefly (stale-while-revalidate);
    # with publish sick, or after a failed fetch (X-Kabar-Sick, vcl_synth), for its whole grace.
    if (!req.http.X-Kabar-Sick && std.healthy(req.backend_hint)) {
        set req.grace = 30s;
    }
    return (hash);
}

sub kabar_purge {
    call kabar_may_purge;
    if (req.http.X-Kabar-Tombstone) {
        if (req.http.X-Kabar-Tombstone !~ "^[0-9a-f]{16}$") {
            return (synth(400, "Bad tombstone uid"));
        }
        # Store the tombstone as a GET of this URL would find it (see vcl_backend_fetch).
        set req.http.X-Kabar-Install = req.http.X-Kabar-Tombstone;
        unset req.http.X-Kabar-Tombstone;
        unset req.http.xkey-purge;
        set req.method = "GET";
        return (restart);
    }
    if (!req.http.xkey-purge) {
        return (synth(400, "xkey-purge header required"));
    }
    set req.http.X-Kabar-Purged = xkey.purge(req.http.xkey-purge);
    return (synth(200, "Purged"));
}

sub vcl_hash {
    # One site: the Host header never changes a page (publish builds absolute URLs from KABAR_SITE_URL),
    # so readers and the purger's tombstones meet under the same object whatever host they used.
    hash_data(req.url);
    return (lookup);
}

sub vcl_deliver {
    if (req.http.X-Kabar-Install) {
        # The tombstone is stored; the purger gets a plain success, not the 410 itself.
        return (synth(200, "Tombstone stored"));
    }
    if (req.http.X-Kabar-Pass || obj.uncacheable) {
        set resp.http.X-Cache = "PASS";
    } elsif (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
    unset resp.http.xkey;
    unset resp.http.Surrogate-Control;
    unset resp.http.X-Varnish;
    unset resp.http.Via;
}

sub vcl_synth {
    if (req.http.X-Kabar-Purged) {
        set resp.http.X-Kabar-Purged = req.http.X-Kabar-Purged;
    }
    # A reader's fetch failed (publish down or answering 5xx) before the probe noticed: look again, this
    # time accepting any copy still in grace. Only once, and never for what is not cached anyway.
    if (resp.status == 503 && req.restarts == 0 && !req.http.X-Kabar-Pass && !req.http.X-Kabar-Install
        && (req.method == "GET" || req.method == "HEAD")) {
        set req.http.X-Kabar-Sick = "1";
        return (restart);
    }
    set resp.http.Cache-Control = "no-store";
    set resp.http.X-Content-Type-Options = "nosniff";
    set resp.http.Content-Security-Policy = "default-src 'none'; frame-ancestors 'none'";
    if (resp.status == 503) {
        set resp.http.Retry-After = "5";
    }
    set resp.http.Content-Type = "text/plain; charset=utf-8";
    synthetic(resp.status + " " + resp.reason + {"
"});
    return (deliver);
}

sub vcl_backend_fetch {
    if (bereq.http.X-Kabar-Install) {
        return (error(410));
    }
    unset bereq.http.X-Kabar-Sick;
    unset bereq.http.X-Kabar-Pass;
}

sub vcl_backend_response {
    if (bereq.uncacheable) {
        return (deliver);
    }
    if (beresp.status >= 500) {
        # Keep whatever copy exists: a background refresh gives up; a reader's fetch ends in vcl_synth,
        # which looks again for a copy in grace.
        return (abandon);
    }
    if (!beresp.http.Surrogate-Control || beresp.http.Surrogate-Control ~ "(?i)no-store"
        || beresp.http.Set-Cookie) {
        # Not for the edge: hit-for-miss for a short while, so such URLs skip the waiting list.
        set beresp.ttl = 10s;
        set beresp.grace = 0s;
        set beresp.uncacheable = true;
        return (deliver);
    }
    set beresp.ttl = std.duration(
        regsub(beresp.http.Surrogate-Control, "^.*\bmax-age=([0-9]+).*$", "\1s"), 0s);
    set beresp.grace = std.duration(
        regsub(beresp.http.Surrogate-Control, "^.*\bstale-if-error=([0-9]+).*$", "\1s"), 10s);
    # Compressed once here, stored compressed, unzipped only for the rare client that cannot take gzip.
    if (beresp.http.Content-Type ~ "^(text/|application/(json|xml|rss\+xml|atom\+xml|problem\+json|javascript))") {
        set beresp.do_gzip = true;
    }
    return (deliver);
}

sub vcl_backend_error {
    if (bereq.http.X-Kabar-Install) {
        # The tombstone: kept briefly fresh (then publish's own 410 page takes over while it answers) and
        # for a long grace (served while publish is down), until a republish purges gone:<uid>.
        set beresp.status = 410;
        set beresp.reason = "Gone";
        set beresp.http.xkey = "gone:" + bereq.http.X-Kabar-Install;
        set beresp.http.Cache-Control = "public, max-age=30";
        set beresp.http.X-Content-Type-Options = "nosniff";
        set beresp.http.Content-Security-Policy = "default-src 'none'; frame-ancestors 'none'";
        set beresp.ttl = 30s;
        set beresp.grace = 7d;
        if (bereq.url ~ "^/api/") {
            set beresp.http.Content-Type = "application/problem+json";
            synthetic("""{"type":"https://kabar.dev/problems/gone","title":"Gone","status":410,"detail":"This article was withdrawn or deleted."}""");
        } else {
            set beresp.http.Content-Type = "text/html; charset=utf-8";
            synthetic({"<!doctype html>
<html lang="id"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>410 · Berita tidak tersedia</title></head>
<body><h1>Berita ini sudah tidak tersedia</h1><p>Artikel ini telah ditarik atau dihapus. / This story was withdrawn or deleted.</p><p><a href="/">Kabar</a></p></body></html>
"});
        }
        return (deliver);
    }
    # Publish unreachable: no object is made (a copy in grace stays usable); the reader's side retries
    # from grace in vcl_synth.
    return (abandon);
}
