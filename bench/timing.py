"""Embargo release lag and webhook delivery lag, next to freshness, in the same run.

Starts its own stack on a fresh prefix (ingest, publish, an index worker, a related worker and a notify worker), a
local webhook subscriber (an HTTP server in this process that timestamps every delivery) subscribed through
the newsroom API, then runs two phases with the same articles' shape, one article every `--gap` seconds:

- **now** (the baseline): articles without an embargo. Freshness = POST to searchable (Elasticsearch polled
  with the readers' filter, as bench.freshness does); page lag = POST to the article page answering 200 from
  publish (its page cache included); webhook lag = POST to the `published` delivery.
- **embargo**: each article POSTed with an embargo `--lead` seconds ahead. Release lag = embargo time to
  searchable (the readers' filter compares the embargo with the clock, so this is the poll interval) and to the
  article page answering 200 (publish's cached 404 must be purged by the release task); webhook lag = embargo
  time to the `published` delivery (the release scheduler, the release task and the notify queue). A story
  seen (searchable or its page) before its embargo counts as EARLY (the target is none).

Targets: release within the freshness target (p95 < 2.5 s), never early. Removes everything it created.

    python -m bench.timing [--articles 30] [--lead 5] [--gap 0.5] [--poll-ms 20]
"""

from __future__ import annotations

import argparse
import functools
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from bench.freshness import TARGET_P95_S
from harness.procs import free_port
from harness.results import emit, percentile, print_table
from harness.stack import private_stack
from services.ingest.auth import create_key
from shared.es import ONLY_PUBLISHED
from shared.models import article_uid

BENCH = "timing"
NEWSROOM = "bench-timing"
GIVE_UP_S = 30.0


class Deliveries:
    """What the subscriber received: the first arrival time of each (uid, kind)."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()

    def server(self) -> ThreadingHTTPServer:
        deliveries = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = time.time()
                event = json.loads(body)
                with deliveries.lock:
                    deliveries.first.setdefault((event["uid"], event["kind"]), arrived)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)


def _article(external_id: str, n: int, embargo: datetime | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "version": 1,
        "title": f"Berita uji jadwal terbit nomor {n} dari ruang redaksi",
        "section": "Kota",
        "body_paragraphs": [f"Isi berita uji jadwal nomor {n}.", "Paragraf kedua untuk pembaca."],
    }
    if embargo is not None:
        body["embargo_until"] = embargo.isoformat()
    return body


def run_phase(
    *,
    newsroom: httpx.Client,
    es: httpx.Client,
    index: str,
    deliveries: Deliveries,
    reader: httpx.Client,
    phase: str,
    args: argparse.Namespace,
) -> dict[str, list[float]]:
    """Send one article every `gap` seconds while polling, until each is searchable and delivered (or GIVE_UP_S).

    Polling runs between the sends, so an article is seen as soon as it is searchable, not after the last send.
    """
    start_at: dict[str, float] = {}  # uid -> the time it should become visible (POST time, or the embargo)
    visible: dict[str, float] = {}
    paths: dict[str, str] = {}  # uid -> its page path
    page: dict[str, float] = {}  # uid -> when its page first answered 200 (publish, with its page cache)
    early = 0
    sent_all_at = time.time() + args.articles * args.gap
    deadline = sent_all_at + GIVE_UP_S + (args.lead if phase == "embargo" else 0)
    next_send = time.time()
    while time.time() < deadline:
        if len(start_at) < args.articles and time.time() >= next_send:
            n = len(start_at)
            external_id = f"{phase}-{n}-{uuid.uuid4().hex[:6]}"
            embargo = datetime.now(UTC) + timedelta(seconds=args.lead) if phase == "embargo" else None
            sent = time.time()
            accepted = newsroom.post("/v1/articles", json=_article(external_id, n, embargo))
            assert accepted.status_code == 202, accepted.text
            uid = article_uid(NEWSROOM, external_id)
            start_at[uid] = embargo.timestamp() if embargo else sent
            paths[uid] = httpx.URL(accepted.json()["url"]).path
            next_send = sent + args.gap
        pending = [uid for uid in start_at if uid not in visible]
        if pending:
            query = {"bool": {"filter": [ONLY_PUBLISHED, {"terms": {"uid": pending}}]}}
            found = es.post(f"/{index}/_search", json={"query": query, "size": len(pending), "_source": ["uid"]})
            now = time.time()
            for hit in found.json()["hits"]["hits"]:
                uid = hit["_source"]["uid"]
                visible[uid] = now
                early += now < start_at[uid]
        for uid in [uid for uid in start_at if uid not in page]:
            if reader.get(paths[uid]).status_code == 200:
                page[uid] = time.time()
                early += page[uid] < start_at[uid]
        with deliveries.lock:
            delivered = sum((uid, "published") in deliveries.first for uid in start_at)
        if len(start_at) == args.articles and not pending and len(page) == len(start_at) == delivered:
            break
        time.sleep(args.poll_ms / 1000)
    with deliveries.lock:
        delivered_at = {uid: at for (uid, kind), at in deliveries.first.items() if kind == "published"}

    def lags(seen: dict[str, float]) -> list[float]:
        return [seen.get(uid, float("inf")) - t for uid, t in start_at.items()]

    return {"visible": lags(visible), "page": lags(page), "webhook": lags(delivered_at), "early": [float(early)]}


def measure(args: argparse.Namespace) -> dict[str, dict[str, list[float]]]:
    deliveries = Deliveries()
    server = deliveries.server()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    results: dict[str, dict[str, list[float]]] = {}
    try:
        with private_stack("bj", KABAR_WEBHOOK_ALLOW_PRIVATE_URLS="true") as own:
            _, ingest_url = own.api("ingest", "services.ingest.app:create_app")
            _, publish_url = own.api("publish", "services.publish.app:create_app")
            own.worker(("index",), name="timing-index", concurrency=2)  # also polls the embargo schedule
            own.worker(("related",), name="timing-related")
            own.worker(("notify",), name="timing-notify")  # its own worker, as in compose (worker-notify)
            key = create_key(redis=own.redis, prefix=own.prefix, newsroom=NEWSROOM)
            headers = {"Authorization": f"Bearer {key}"}
            with (
                httpx.Client(base_url=ingest_url, headers=headers, timeout=30) as newsroom,
                httpx.Client(base_url=own.settings.es_url, timeout=10) as es,
                httpx.Client(base_url=publish_url, timeout=10) as reader,
            ):
                hook = newsroom.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{server.server_port}/hook"})
                assert hook.status_code == 201, hook.text
                phase = functools.partial(
                    run_phase, newsroom=newsroom, es=es, index=own.names.articles, deliveries=deliveries, reader=reader
                )
                # A warm-up (not reported): the first requests pay for connections and caches.
                phase(phase="now", args=argparse.Namespace(**{**vars(args), "articles": 3}))
                for name in ("now", "embargo"):
                    results[name] = phase(phase=name, args=args)
    finally:
        server.shutdown()
    return results


def _ms(value: float) -> int | str:
    return round(value * 1000) if value != float("inf") else "never"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=30)
    parser.add_argument("--lead", type=float, default=5.0, help="seconds between POST and embargo")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between articles")
    parser.add_argument("--poll-ms", type=float, default=20)
    parser.add_argument("--quick", action="store_true", help="10 articles")
    args = parser.parse_args()
    if args.quick:
        args.articles = 10
    results = measure(args)
    rows = []
    labels = {
        ("now", "visible"): "POST -> searchable (freshness, baseline)",
        ("now", "page"): "POST -> article page 200",
        ("now", "webhook"): "POST -> webhook delivered",
        ("embargo", "visible"): "embargo time -> searchable (release lag)",
        ("embargo", "page"): "embargo time -> article page 200",
        ("embargo", "webhook"): "embargo time -> webhook delivered",
    }
    for (phase, what), label in labels.items():
        values = results[phase][what]
        p95 = percentile(values, 95)
        gated = phase == "embargo"
        rows.append(
            {
                "what": label,
                "n": len(values),
                "p50_ms": _ms(percentile(values, 50)),
                "p95_ms": _ms(p95),
                "p99_ms": _ms(percentile(values, 99)),
                "target": f"p95 < {TARGET_P95_S} s" if gated else "(baseline)",
                "verdict": ("met" if p95 < TARGET_P95_S else "MISSED") if gated else "",
            }
        )
        for p in (50, 95, 99):
            value = percentile(values, p)
            emit(BENCH, f"{phase}_{what}_p{p}", round(value, 3) if value != float("inf") else None, "s")
    early = int(results["embargo"]["early"][0])
    emit(BENCH, "embargo_early", early, "articles", target=0, met=early == 0)
    print_table(rows, list(rows[0]), title=f"embargo release and webhook delivery next to freshness (early: {early})")


if __name__ == "__main__":
    main()
