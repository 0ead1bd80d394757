"""Open-loop tables at fixed arrival rates, each with its baseline from the same run, and the verdicts.

- pages: article pages with a seeded Zipf popularity over every loaded article. Through the edge
  (Varnish): once cold (the cold-cache baseline, at the lowest rate), then, after every page the runs
  will draw was fetched once, warm, next to a static file served by the same edge; and direct from
  publish with its page cache on, next to a publish with it off (every page rendered).
- search: Kabar's /api/v1/search next to Elasticsearch queried directly with the very bodies Kabar sends.
- ingest: single article POSTs to the newsroom API next to a bare FastAPI echo on the same server stack.

The arms of a table take turns going first, rate by rate (harness.results.alternating), after an unreported
warm-up each. Every request is due at a fixed time and its latency runs from then (bench/openloop.py);
vegeta drives when scripts/setup.sh built it, a Python driver otherwise. Loads articles under a unique
prefix, starts its own publish and ingest processes, and removes everything it created.

The edge is a private varnishd on the project's VCL in front of this bench's publish (harness.edge), when
it can run; else the edge at --edge-url (KABAR_EDGE_URL, http://127.0.0.1:6081), whose
pages are read from its own sitemap; else the edge rows say "skipped: no edge".

    python -m bench.openloop_bench [--articles 5000] [--seconds 10] [--only pages,search,ingest]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import sys
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from redis import Redis

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import openloop  # noqa: E402
from bench.search_bench import load, query_mix, start_publish_pair, zipf_stream  # noqa: E402
from harness.cleanup import drop_prefix  # noqa: E402
from harness.corpus import replay  # noqa: E402
from harness.procs import Proc, kabar_env, start_api  # noqa: E402
from harness.results import alternating, emit, print_table  # noqa: E402
from services.index.config import IndexSettings  # noqa: E402
from services.ingest.auth import create_key  # noqa: E402
from services.publish.search import SearchParams, build_request  # noqa: E402
from shared.es import IndexNames  # noqa: E402
from shared.settings import KabarSettings  # noqa: E402

BENCH = "openloop_bench"
PAGE_SEED = 7
WARMUP_SECONDS = 1.0
# What every browser sends: without it the edge unzips its stored (gzipped) page on every request, which is
# the rare client's path, not a reader's.
READER_HEADERS = {"Accept-Encoding": "gzip, deflate, br"}
STATIC_PATH = "/static/kabar.css"
DEFAULT_EDGE_URL = "http://127.0.0.1:6081"
# The targets on these 2 cores.
EDGE_TARGET = (2000, 10.0)  # article pages through the edge: 2,000 req/s, p99 < 10 ms
MISS_TARGET = (100, 50.0)  # direct publish, every page a miss: 100 req/s, p99 < 50 ms
SEARCH_MAX_RATIO = 1.2  # search p99 <= 1.2x Elasticsearch direct at the same rate
INGEST_TARGET_MS = 50.0  # the single-POST p99 target, here under open-loop arrivals

MakeTargets = Callable[[int], list[openloop.Target]]


@dataclass(frozen=True)
class Arm:
    """One row kind of a table: its metric, a readable name and the requests it sends (n of them)."""

    table: str
    metric: str
    name: str
    targets: MakeTargets


def outside_edge_url() -> str:
    """KABAR_EDGE_URL, else the first of the workers' purge targets (KABAR_EDGE_URLS), else Varnish's usual port."""
    urls = IndexSettings().edge_urls
    return os.environ.get("KABAR_EDGE_URL") or (urls[0] if urls else DEFAULT_EDGE_URL)


def rates(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v.strip()]


def measure(arm: Arm, rate: int, seconds: float) -> dict[str, Any]:
    """One attack of `arm` at `rate`, emitted as a result row (value: p99 from the intended send time)."""
    run = openloop.attack(arm.targets(openloop.scheduled_count(rate, seconds)), rate=rate, seconds=seconds)
    s = openloop.stats(run)
    labels = {k: v for k, v in s.items() if k != "rate"}
    note = openloop.valid(s)  # why these percentiles cannot count against a target, if they cannot
    return emit(
        BENCH, f"{arm.metric}_p99", s["p99_ms"], "ms", table=arm.table, name=arm.name, rate=rate, note=note, **labels
    )


def skipped(arm: Arm, rate: int, reason: str) -> dict[str, Any]:
    print(f"{arm.name} @ {rate}/s: skipped: {reason}", flush=True)
    labels = {"table": arm.table, "name": arm.name, "rate": rate, "skipped": reason, "note": f"skipped: {reason}"}
    return emit(BENCH, f"{arm.metric}_p99", None, "ms", **labels)


def compare(arms: Sequence[Arm], rate_list: Sequence[int], seconds: float) -> list[dict[str, Any]]:
    """Every arm at every rate, the arms taking turns to go first rate by rate, each warmed up once first."""
    for arm in arms:
        openloop.attack(arm.targets(openloop.scheduled_count(rate_list[0], WARMUP_SECONDS)), rate=rate_list[0],
                        seconds=WARMUP_SECONDS)  # fmt: skip
    rows = []
    for rate, order in zip(rate_list, alternating(arms, len(rate_list)), strict=True):
        rows += [measure(arm, rate, seconds) for arm in order]
    return rows


def zipf_targets(base_url: str, paths: Sequence[str]) -> MakeTargets:
    """n page requests with Zipf popularity; each call makes the same seeded draws, so arms read the same pages."""

    def make(n: int) -> list[openloop.Target]:
        return [
            openloop.Target("GET", base_url + p, headers=READER_HEADERS)
            for p in itertools.islice(zipf_stream(paths, seed=PAGE_SEED), n)
        ]

    return make


def warm(targets: Sequence[openloop.Target], clients: int = 8) -> int:
    """Fetch each distinct target once, `clients` at a time (unmeasured); how many there were."""
    urls = sorted({t.url for t in targets})
    with httpx.Client(timeout=30) as client, ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda url: client.get(url), urls))
    return len(urls)


def same_targets(target: openloop.Target) -> MakeTargets:
    return lambda n: [target] * n


def cycled(targets: Sequence[openloop.Target]) -> MakeTargets:
    """The first n of targets repeated in order: both search arms send the same queries in the same order."""
    return lambda n: list(itertools.islice(itertools.cycle(targets), n))


# ---- the edge -----------------------------------------------------------------------------------


def start_private_edge(publish_url: str) -> tuple[Proc, str] | None:
    """The project's edge (harness.edge: varnishd on deploy/varnish/kabar.vcl) in front of the bench's publish."""
    try:
        from harness.edge import start_edge  # the edge's own starter; absent on a tree without the edge
    except ImportError:
        return None
    try:
        return start_edge(publish_url=publish_url)
    except (OSError, KeyError, RuntimeError, TimeoutError, httpx.HTTPError) as exc:
        print(f"private edge did not start: {exc!r}", flush=True)
        return None


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def edge_paths(edge_url: str, limit: int) -> list[str]:
    """Article paths an outside edge serves, read from its sitemaps (empty when it serves none)."""
    paths: list[str] = []
    try:
        index = httpx.get(f"{edge_url}/sitemap.xml", timeout=5)
        index.raise_for_status()
        for child in re.findall(r"<loc>([^<]+)</loc>", index.text)[:20]:
            resp = httpx.get(edge_url + urlparse(child).path, timeout=5)
            paths += [urlparse(loc).path for loc in re.findall(r"<loc>([^<]+)</loc>", resp.text)]
            if len(paths) >= limit:
                break
    except httpx.HTTPError:
        return []
    return [p for p in paths if p.count("/") >= 2][:limit]


# ---- tables -------------------------------------------------------------------------------------


def pages_table(
    *, publish_url: str, nocache_url: str, paths: list[str], edge: tuple[str, list[str]] | None, args: Any
) -> list[dict[str, Any]]:
    """The edge table (static file baseline) at --edge-rates, the direct one (cache-off baseline) at --page-rates."""
    rows: list[dict[str, Any]] = []
    edge_arms = [
        Arm("edge", "edge_static", f"edge: static file {STATIC_PATH}", lambda n: []),
        Arm("edge", "edge_page_cold", "edge: article pages (Zipf, cold edge)", lambda n: []),
        Arm("edge", "edge_page", "edge: article pages (Zipf, warm edge)", lambda n: []),
    ]
    if edge is None:
        rows += [skipped(arm, rate, "no edge") for rate in args.edge_rates for arm in edge_arms]
    else:
        edge_url, edge_article_paths = edge
        print(f"\nedge {edge_url}: {len(edge_article_paths)} article paths, {args.seconds:g}s per arm and rate")
        pages = zipf_targets(edge_url, edge_article_paths)
        # The cold-cache baseline: the same draws before the edge holds any of them (every first read a miss).
        cold = Arm("edge", "edge_page_cold", "edge: article pages (Zipf, cold edge)", pages)
        rows.append(measure(cold, args.edge_rates[0], args.seconds))
        # Then every page the measured runs will draw is fetched once, so the edge rows measure a warm edge.
        warmed = warm(pages(openloop.scheduled_count(max(args.edge_rates), args.seconds)))
        print(f"edge warmed with {warmed} distinct pages", flush=True)
        edge_arms = [
            Arm(
                "edge",
                "edge_static",
                edge_arms[0].name,
                same_targets(openloop.Target("GET", edge_url + STATIC_PATH, headers=READER_HEADERS)),
            ),
            Arm("edge", "edge_page", "edge: article pages (Zipf, warm edge)", pages),
        ]
        rows += compare(edge_arms, args.edge_rates, args.seconds)
    print(f"\ndirect publish: {len(paths)} article paths")
    direct_arms = [
        Arm("direct", "article_page_miss", "publish: pages, page cache off (cold)", zipf_targets(nocache_url, paths)),
        Arm("direct", "article_page", "publish: pages, page cache on", zipf_targets(publish_url, paths)),
    ]
    return rows + compare(direct_arms, args.page_rates, args.seconds)


def search_table(
    *, publish_url: str, es_url: str, names: IndexNames, docs: list[dict[str, Any]], args: Any
) -> list[dict[str, Any]]:
    """Kabar's search API next to the same Elasticsearch bodies sent directly."""
    mix = query_mix(docs, 2000, random.Random(7))
    params = [
        SearchParams(
            q=p["q"],
            sort="newest" if p.get("sort") == "newest" else "relevance",
            date_from=date.fromisoformat(p["date_from"]) if "date_from" in p else None,
        )
        for p in mix
    ]
    direct = [
        openloop.Target(
            "POST",
            f"{es_url}/{names.articles}/_search",
            json.dumps(build_request(p)).encode(),
            {"Content-Type": "application/json"},
        )
        for p in params
    ]
    api = [openloop.Target("GET", str(httpx.URL(f"{publish_url}/api/v1/search", params=m))) for m in mix]
    arms = [
        Arm("search", "es_direct", "Elasticsearch direct (same bodies)", cycled(direct)),
        Arm("search", "search_api", "Kabar /api/v1/search", cycled(api)),
    ]
    print(f"\nsearch: {len(mix)} distinct queries")
    return compare(arms, args.search_rates, args.seconds)


def ingest_table(args: Any) -> list[dict[str, Any]]:
    """Single article POSTs (each a fresh article) next to a bare echo app on the same server stack."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    env = kabar_env(prefix, KABAR_RATE_LIMIT_PER_MINUTE="100000000", KABAR_LOG_LEVEL="WARNING")
    env["KABAR_RATE_LIMIT_ARTICLES_PER_MINUTE"] = "100000000"
    settings = KabarSettings(prefix=prefix)
    procs: list[Proc] = []
    try:
        with Redis.from_url(settings.redis_url) as redis:
            key = create_key(redis=redis, prefix=prefix, newsroom="bench")
        ingest, ingest_url = start_api("openloop-ingest", "services.ingest.app:create_app", env)
        procs.append(ingest)
        echo, echo_url = start_api("openloop-echo", "bench.ingest_bench:echo_app", env)
        procs.append(echo)
        source = replay(tag=f"ol-{uuid.uuid4().hex[:6]}", limit=args.articles)
        json_type = {"Content-Type": "application/json"}

        def posts(url: str, headers: dict[str, str]) -> MakeTargets:
            return lambda n: [
                openloop.Target("POST", url, json.dumps(a).encode(), headers) for a in itertools.islice(source, n)
            ]

        arms = [
            Arm("ingest", "echo_baseline", "echo app (same server stack)", posts(f"{echo_url}/echo", json_type)),
            Arm("ingest", "single_post", "ingest POST /v1/articles",
                posts(f"{ingest_url}/v1/articles", {**json_type, "Authorization": f"Bearer {key}"})),
        ]  # fmt: skip
        print("\nnewsroom API: every POST a fresh article")
        return compare(arms, args.ingest_rates, args.seconds)
    finally:
        for proc in procs:
            proc.stop()
        drop_prefix(prefix)


# ---- verdicts -----------------------------------------------------------------------------------


def _at(rows: list[dict[str, Any]], metric: str, rate: int) -> dict[str, Any] | None:
    return next((r for r in rows if r["metric"] == metric and r.get("rate") == rate and r["value"] is not None), None)


def verdicts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of the issue against this run's rows: value, verdict ('met', 'MISSED', 'n/a') and why."""
    out = []
    edge_rate, edge_ms = EDGE_TARGET
    edge = _at(rows, "edge_page_p99", edge_rate)
    static = _at(rows, "edge_static_p99", edge_rate)
    verdict, note = openloop.verdict_below(edge, edge_ms)
    if static:
        note += f"; static file via the same edge p99 {static['value']} ms"
    if edge is None and any(r["metric"] == "edge_page_p99" and r.get("skipped") for r in rows):
        note = f"skipped: {next(r['skipped'] for r in rows if r.get('skipped'))}"
    out.append(_verdict(f"edge pages p99 @ {edge_rate}/s", edge, f"< {edge_ms:g} ms", verdict, note))

    miss_rate, miss_ms = MISS_TARGET
    miss = _at(rows, "article_page_miss_p99", miss_rate)
    verdict, note = openloop.verdict_below(miss, miss_ms)
    out.append(_verdict(f"publish page miss p99 @ {miss_rate}/s", miss, f"< {miss_ms:g} ms", verdict, note))

    search_rates = sorted({r["rate"] for r in rows if r["metric"] == "search_api_p99"})
    judged = [(rate, *openloop.verdict_ratio(_at(rows, "search_api_p99", rate), _at(rows, "es_direct_p99", rate),
                                              SEARCH_MAX_RATIO)) for rate in search_rates]  # fmt: skip
    if judged:
        kinds = {v for _, v, _ in judged}
        verdict = "MISSED" if "MISSED" in kinds else ("met" if "met" in kinds else "n/a")
        note = "; ".join(f"@{rate}/s {v}: {n}" for rate, v, n in judged)
        ratios = [float(m.group(1)) for _, _, n in judged if (m := re.match(r"([\d.]+)x", n))]
        value = max(ratios) if ratios else None
    else:
        verdict, note, value = "n/a", "not measured", None
    label = "search p99 / ES direct p99 (worst rate)"
    out.append({"target": label, "value": value, "unit": "x", "limit": f"<= {SEARCH_MAX_RATIO}x", "verdict": verdict,
                "note": note})  # fmt: skip

    ingest_rates = sorted({r["rate"] for r in rows if r["metric"] == "single_post_p99"})
    if ingest_rates:
        post = _at(rows, "single_post_p99", ingest_rates[-1])
        echo = _at(rows, "echo_baseline_p99", ingest_rates[-1])
        verdict, note = openloop.verdict_below(post, INGEST_TARGET_MS)
        if echo:
            note += f"; echo baseline p99 {echo['value']} ms"
        label = f"newsroom POST p99 @ {ingest_rates[-1]}/s"
        out.append(_verdict(label, post, f"< {INGEST_TARGET_MS:g} ms", verdict, note))
    return out


def _verdict(target: str, row: dict[str, Any] | None, limit: str, verdict: str, note: str) -> dict[str, Any]:
    value = row["value"] if row else None
    return {"target": target, "value": value, "unit": "ms", "limit": limit, "verdict": verdict, "note": note}


# ---- main ---------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=20_000, help="articles loaded for pages and search")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per arm and rate")
    parser.add_argument("--edge-rates", type=rates, default=[500, 1000, 2000], help="req/s through the edge")
    parser.add_argument("--page-rates", type=rates, default=[50, 100, 200], help="req/s direct to publish")
    parser.add_argument("--search-rates", type=rates, default=[25, 50, 100], help="req/s of searches")
    parser.add_argument("--ingest-rates", type=rates, default=[25, 50, 100], help="req/s of single POSTs")
    parser.add_argument("--edge-url", default=outside_edge_url(), help="an edge used when no private varnishd can run")
    parser.add_argument("--only", default="pages,search,ingest", help="tables, comma-separated")
    args = parser.parse_args()
    only = {t.strip() for t in args.only.split(",")}
    print(f"driver: {openloop.driver_name()}", flush=True)

    rows: list[dict[str, Any]] = []
    if only & {"pages", "search"}:
        rows += indexed_tables(args, only)
    if "ingest" in only:
        rows += ingest_table(args)

    columns = [
        "name",
        "rate",
        "value",
        "p50_ms",
        "p999_ms",
        "errors",
        "unsent",
        "send_lag_p99_ms",
        "achieved_rps",
        "note",
    ]
    for table in ("edge", "direct", "search", "ingest"):
        part = [r for r in rows if r.get("table") == table]
        if part:
            print_table(
                part, columns, title=f"{BENCH} {table}: p99 (value), p50, p99.9 in ms from the intended send time"
            )
    print_table(verdicts(rows), ["target", "value", "limit", "verdict", "note"], title=f"{BENCH}: targets")
    return 0


def indexed_tables(args: Any, only: set[str]) -> list[dict[str, Any]]:
    """Load articles under a fresh prefix, start publish (page cache on, off) and, if it can, a private edge."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    settings = KabarSettings(prefix=prefix)
    names = IndexNames(prefix)
    redis = Redis.from_url(settings.redis_url)
    env = kabar_env(prefix, KABAR_LOG_LEVEL="WARNING", KABAR_ES_URL=settings.es_url)
    procs: list[Proc] = []
    rows: list[dict[str, Any]] = []
    try:
        docs = load(settings, names, redis, args.articles)
        publish_url, nocache_url = start_publish_pair("openloop-publish", env, procs)
        paths = [d["path"] for d in docs]
        if "pages" in only:
            edge = choose_edge(publish_url, paths, args.edge_url, procs)
            rows += pages_table(publish_url=publish_url, nocache_url=nocache_url, paths=paths, edge=edge, args=args)
        if "search" in only:
            rows += search_table(publish_url=nocache_url, es_url=settings.es_url, names=names, docs=docs, args=args)
    finally:
        for proc in procs:
            proc.stop()
        redis.close()
        drop_prefix(prefix)
    return rows


def choose_edge(publish_url: str, paths: list[str], edge_url: str, procs: list[Proc]) -> tuple[str, list[str]] | None:
    """A private edge in front of the bench's publish; else the outside edge with the pages it serves; else None."""
    private = start_private_edge(publish_url)
    if private:
        procs.append(private[0])
        print(f"edge: private varnishd (deploy/varnish/kabar.vcl) {private[1]} -> {publish_url}", flush=True)
        return private[1], paths
    if not _answers(edge_url + STATIC_PATH):
        print(f"edge: none (no varnishd with a project VCL, nothing answers at {edge_url})", flush=True)
        return None
    outside = edge_paths(edge_url, len(paths))
    if not outside:
        print(f"edge: {edge_url} answers but lists no article in its sitemaps", flush=True)
        return None
    print(f"edge: outside edge {edge_url}, {len(outside)} article paths from its sitemaps", flush=True)
    return edge_url, outside


if __name__ == "__main__":
    raise SystemExit(main())
