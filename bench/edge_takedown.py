"""Withdraw to 410 at the edge: how long after the newsroom's 202 a reader at the edge gets the 410, next to
the same wait straight from publish (same run, same articles, the two polled in alternating order), against
the freshness target.

Starts its own stack on a fresh prefix (ingest, publish, a private Varnish on the project's VCL, index and
related workers that purge it), publishes the articles, reads each once through the edge so it is cached,
then withdraws them one at a time and polls both until each answers 410. Removes everything it created.

    python -m bench.edge_takedown [--articles 40] [--poll-ms 10]
"""

from __future__ import annotations

import argparse
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from redis import Redis

from bench.freshness import TARGET_P95_S
from harness.cleanup import drop_prefix
from harness.edge import path_of, start_edge, start_purging_workers
from harness.procs import Proc, kabar_env, start_api, wait_until
from harness.results import emit, percentile, print_table
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.ingest.auth import create_key

BENCH = "edge_takedown"
GIVE_UP_S = 15.0


def _published(newsroom: httpx.Client, external_id: str) -> dict[str, object] | None:
    state = newsroom.get(f"/v1/articles/{external_id}").json()
    return state if state.get("status") == "published" else None


def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    prefix = f"bt{uuid.uuid4().hex[:8]}"
    settings = IndexSettings(prefix=prefix)
    bootstrap(settings)
    redis = Redis.from_url(settings.redis_url)
    env = kabar_env(prefix, KABAR_RELATED_COUNTDOWN_SECONDS="0.2", KABAR_RELATED_REFRESH_DEBOUNCE_SECONDS="0.5")
    procs: list[Proc] = []
    waits: dict[str, list[float]] = {"edge": [], "publish": []}
    try:
        ingest, ingest_url = start_api("ingest", "services.ingest.app:create_app", env)
        publish, publish_url = start_api("publish", "services.publish.app:create_app", env)
        procs += [ingest, publish]
        edge, edge_url = start_edge(publish_url=publish_url, ingest_url=ingest_url)
        procs.append(edge)
        procs += start_purging_workers(env, prefix=prefix, edge_urls=[edge_url])
        key = create_key(redis=redis, prefix=prefix, newsroom="bench-room")
        headers = {"Authorization": f"Bearer {key}"}
        with (
            httpx.Client(base_url=ingest_url, headers=headers, timeout=30) as newsroom,
            httpx.Client(timeout=10, headers={"Accept-Encoding": "gzip"}) as reader,
        ):
            ids = [f"takedown-{i}" for i in range(args.articles)]
            for i, external_id in enumerate(ids):
                body = {
                    "external_id": external_id,
                    "version": 1,
                    "title": f"Berita uji penarikan nomor {i} dari ruang redaksi",
                    "section": "Kota",
                    "published_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
                    "body_paragraphs": [f"Isi berita uji nomor {i}.", "Paragraf kedua untuk pembaca."],
                }
                assert newsroom.post("/v1/articles", json=body).status_code == 202
            paths = {}
            for external_id in ids:
                state = wait_until(lambda e=external_id: _published(newsroom, e), timeout=60, what="published")
                paths[external_id] = path_of(state)
            for path in paths.values():  # cached at the edge before the takedown, as a popular page is
                reader.get(edge_url + path)
                assert reader.get(edge_url + path).headers.get("X-Cache") == "HIT", path
            time.sleep(2)  # related lists settle (their purges are not what is measured)
            for n, external_id in enumerate(ids):
                urls = {"edge": edge_url + paths[external_id], "publish": publish_url + paths[external_id]}
                order = ["edge", "publish"] if n % 2 == 0 else ["publish", "edge"]
                assert newsroom.post(f"/v1/articles/{external_id}/unpublish").status_code == 202
                t0 = time.perf_counter()
                pending = set(order)
                while pending and time.perf_counter() - t0 < GIVE_UP_S:
                    for arm in order:
                        if arm in pending and reader.get(urls[arm]).status_code == 410:
                            waits[arm].append(time.perf_counter() - t0)
                            pending.discard(arm)
                    time.sleep(args.poll_ms / 1000)
                for arm in pending:
                    waits[arm].append(float("inf"))
    finally:
        for proc in reversed(procs):
            proc.stop()
        redis.close()
        drop_prefix(prefix)
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--poll-ms", type=float, default=10)
    args = parser.parse_args()
    waits = measure(args)
    rows = []
    for arm, label in (("edge", "410 at the edge"), ("publish", "410 from publish (no edge)")):
        values = waits[arm]
        p95 = percentile(values, 95)
        rows.append(
            {
                "what": label,
                "n": len(values),
                "p50_ms": round(percentile(values, 50) * 1000),
                "p95_ms": round(p95 * 1000),
                "max_ms": round(max(values) * 1000) if max(values) != float("inf") else "never",
                "target": f"p95 < {TARGET_P95_S} s" if arm == "edge" else "(baseline)",
                "verdict": ("met" if p95 < TARGET_P95_S else "MISSED") if arm == "edge" else "",
            }
        )
        emit(BENCH, f"{arm}_withdraw_to_410_p95", round(p95, 3), "s", target=TARGET_P95_S)
    print_table(rows, list(rows[0]), title="withdraw (202) to 410 for a reader, cached page, same run")


if __name__ == "__main__":
    main()
