"""Helpers every benchmark shares: percentiles, JSON-lines + table output, corpus replay with fresh ids,
the environment for the Kabar processes a bench starts, and removing a bench prefix afterwards."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared import corpora
from shared.corpora import raw_dir
from shared.models import ArticleIn

ROOT = Path(__file__).resolve().parents[1]
RAW = raw_dir()


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float], *, digits: int = 3) -> dict[str, float]:
    """n, p50, p95, p99, max and mean of a sample."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(values, 50), digits),
        "p95": round(percentile(values, 95), digits),
        "p99": round(percentile(values, 99), digits),
        "max": round(max(values), digits),
        "mean": round(sum(values) / len(values), digits),
    }


def emit(bench: str, metric: str, value: float | int | None, unit: str, **extra: Any) -> dict[str, Any]:
    """Print one result as a JSON line (the convention bench/run_all.py reads) and return it."""
    row = {"bench": bench, "metric": metric, "value": value, "unit": unit, **extra}
    print(json.dumps(row, ensure_ascii=False), flush=True)
    return row


def print_table(rows: Iterable[dict[str, Any]], columns: Sequence[str], *, title: str | None = None) -> None:
    """A plain fixed-width table of the given columns."""
    rows = list(rows)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    if title:
        print(f"\n{title}")
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def corpus_articles(spec: str = "all", *, tag: str, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Valid corpus articles replayed with fresh external ids `{tag}-{n}`; cycles when the corpus runs out."""
    pool: list[dict[str, Any]] = []
    for raw in corpora.load(spec, RAW):
        try:
            ArticleIn.model_validate(raw)
        except ValidationError:
            continue
        pool.append(raw)
        if limit is not None and len(pool) >= limit:
            break
    if not pool:
        raise SystemExit(f"no valid articles in corpus {spec!r} under {RAW}")
    for n, src in enumerate(itertools.cycle(pool)):
        yield {**src, "external_id": f"{tag}-{n:07d}", "note": f"replay of {src['external_id']}"[:2000]}


def kabar_env(prefix: str, **overrides: str) -> dict[str, str]:
    """Environment for the Kabar processes a bench starts: its own prefix, the caller's service URLs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env.update({"KABAR_PREFIX": prefix, "KABAR_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    for key in ("KABAR_ES_URL", "KABAR_BROKER_URL", "KABAR_REDIS_URL"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(overrides)
    return env


def drop_prefix(prefix: str) -> None:
    """Remove a bench prefix's indices, Redis keys and queues (best effort, never raises)."""
    from celery import Celery
    from redis import Redis

    from shared.es import IndexNames, create_client, drop_indices
    from shared.messaging import Queues, celery_config
    from shared.settings import KabarSettings

    settings = KabarSettings(prefix=prefix)
    with contextlib.suppress(Exception):
        es = create_client(settings)
        drop_indices(es, IndexNames(prefix))
        es.close()
    with contextlib.suppress(Exception), Redis.from_url(settings.redis_url) as redis:
        for key in redis.scan_iter(f"{prefix}:*", count=5000):
            redis.delete(key)
    app = Celery(set_as_current=False)
    app.conf.update(celery_config(broker_url=settings.broker_url, prefix=prefix))
    with contextlib.suppress(Exception), app.connection_for_write() as conn, conn.channel() as channel:
        for name in (Queues(prefix).index, Queues(prefix).related, Queues(prefix).dead_letter):
            with contextlib.suppress(Exception):
                channel.queue_delete(name)
    app.close()
