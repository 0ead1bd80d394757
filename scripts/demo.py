"""The local demo: Kabar's own processes on top of the services, demo data loaded through the public API.

python -m scripts.demo up [--corpus SPEC ...] [--limit N] [--detach]
python -m scripts.demo down
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
from tqdm import tqdm

from harness.procs import Proc, api_command, worker_command
from shared.batching import chunks
from shared.corpora import shared_data_dir

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / ".local" / "run"
SHARED = shared_data_dir()
INGEST_PORT = int(os.environ.get("KABAR_DEMO_INGEST_PORT", "8001"))
PUBLISH_PORT = int(os.environ.get("KABAR_DEMO_PUBLISH_PORT", "8002"))
# The edge cache scripts/services.sh runs in front of publish (KABAR_EDGE=off: none).
EDGE_PORT = int(os.environ.get("KABAR_EDGE_PORT", "6081"))
NEWSROOM = "demo"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("KABAR_SITE_URL", f"http://127.0.0.1:{PUBLISH_PORT}")
    env.setdefault("PYTHONUNBUFFERED", "1")
    env["PYTHONPATH"] = str(ROOT)
    if _edge_up():
        # The workers purge the edge on every change (the reader-facing services are unaffected).
        env.setdefault("KABAR_EDGE_URLS", _edge_url())
    return env


def _edge_url() -> str:
    return f"http://127.0.0.1:{EDGE_PORT}"


def _edge_up() -> bool:
    try:
        return httpx.get(f"{_edge_url()}/.edge/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def processes(prefix: str) -> dict[str, list[str]]:
    """The demo's processes: both APIs with two workers each, index and related work in separate workers."""
    return {
        "ingest": api_command("services.ingest.app:create_app", port=INGEST_PORT, workers=2, log_level="info"),
        "publish": api_command("services.publish.app:create_app", port=PUBLISH_PORT, workers=2, log_level="info"),
        # Separate workers for indexing and related links, as deployed (see docker-compose.yml); on the demo's
        # one machine the related worker also tells subscribers and moderates comments (compose gives those their
        # own worker-notify and worker-comments).
        "worker": worker_command(prefix=prefix, queues=("index",), concurrency=2, node="demo-index"),
        "worker-related": worker_command(
            prefix=prefix, queues=("related", "notify", "comments"), concurrency=1, node="demo-related"
        ),
    }


# The pid files `demo down` reads, in the order `demo up` starts the processes.
PROCESS_NAMES = ("ingest", "publish", "worker", "worker-related")


def _pidfile(name: str) -> Path:
    return RUN / f"demo-{name}.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def start_processes() -> None:
    from services.index.config import IndexSettings

    for name, args in processes(IndexSettings().prefix).items():
        pidfile = _pidfile(name)
        if pidfile.exists() and _alive(int(pidfile.read_text())):
            print(f"[demo] {name} already running")
            continue
        proc = Proc(name, args, _env(), log_path=RUN / f"demo-{name}.log").start()
        pidfile.write_text(str(proc.pid))
        print(f"[demo] started {name} (pid {proc.pid}, log {proc.log_path})")


def stop_processes() -> None:
    for name in PROCESS_NAMES:
        pidfile = _pidfile(name)
        if not pidfile.exists():
            continue
        pid = int(pidfile.read_text())
        if _alive(pid):
            os.killpg(pid, signal.SIGTERM)  # the whole group: uvicorn/celery children included
            for _ in range(60):
                if not _alive(pid):
                    break
                time.sleep(0.25)
            if _alive(pid):
                os.killpg(pid, signal.SIGKILL)
            print(f"[demo] stopped {name}")
        pidfile.unlink(missing_ok=True)


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"[demo] {url} did not answer in {timeout}s; see {RUN}/demo-*.log")


def demo_key() -> str:
    """The demo newsroom's key: reused while the ingest API still accepts it, else a new one."""
    from services.ingest.auth import create_key
    from services.ingest.config import IngestSettings
    from shared.redisconn import redis_client

    keyfile = RUN / "demo-key"
    if keyfile.exists():
        key = keyfile.read_text().strip()
        probe = httpx.get(
            f"http://127.0.0.1:{INGEST_PORT}/v1/articles/probe", timeout=5, headers={"Authorization": f"Bearer {key}"}
        )
        if probe.status_code != 401:
            return key
    settings = IngestSettings()
    with redis_client(settings) as redis:
        key = create_key(redis=redis, prefix=settings.prefix, newsroom=NEWSROOM)
    keyfile.write_text(key)
    keyfile.chmod(0o600)
    return key


def demo_articles(corpora: list[str], limit: int | None) -> Iterator[dict[str, Any]]:
    from shared import corpora as readers

    yield from readers.jsonl(ROOT / "demo" / "articles.jsonl")
    seed = SHARED / "seed" / "channel9-rusia-nato.json"
    if seed.exists():
        yield json.loads(seed.read_text())
    for spec in corpora:
        yield from itertools.islice(readers.load(spec, SHARED / "raw"), limit)


def load(client: httpx.Client, articles: Iterable[dict[str, Any]], total: int | None) -> list[str]:
    """Send articles through the public bulk ingest API; returns the external ids."""
    sent: list[str] = []
    with tqdm(total=total, unit="art", desc="loading", file=sys.stdout) as bar:
        for chunk in chunks(articles, 200):
            while (resp := client.post("/v1/articles:bulk", json=chunk)).status_code == 429:
                # The newsroom's article budget per minute: wait as told, like any well-behaved client.
                time.sleep(float(resp.headers.get("Retry-After", "5")))
            if resp.status_code >= 300:
                raise SystemExit(f"[demo] bulk load failed: {resp.status_code} {resp.text[:500]}")
            sent += [a["external_id"] for a in chunk]
            bar.update(len(chunk))
    return sent


def wait_searchable(client: httpx.Client, external_ids: list[str], timeout: float = 600) -> None:
    pending = set(external_ids)
    deadline = time.monotonic() + timeout
    with tqdm(total=len(pending), unit="art", desc="indexing", file=sys.stdout) as bar:
        while pending and time.monotonic() < deadline:
            for ext in list(pending)[:200]:
                state = client.get(f"/v1/articles/{ext}")
                if state.status_code == 200 and state.json().get("status") in {"published", "failed"}:
                    pending.discard(ext)
                    bar.update(1)
            time.sleep(0.2)
    if pending:
        print(f"[demo] {len(pending)} articles not indexed yet; they will appear when the workers catch up")


def _demo_comments(key: str, external_ids: list[str]) -> str:
    """Readers' comments on the reference story (or the first one), once: where to see them."""
    from scripts import demo_comments

    target = "channel9-2021-12-27-rusia-pertimbangkan-nato"
    external_id = target if target in external_ids else external_ids[0]
    with httpx.Client(
        base_url=f"http://127.0.0.1:{INGEST_PORT}", timeout=60, headers={"Authorization": f"Bearer {key}"}
    ) as ingest:
        state = ingest.get(f"/v1/articles/{external_id}").json()
        if not ingest.get("/v1/comments", params={"queue": "all", "limit": 1}).json()["items"]:
            demo_comments.load_comments(publish_url=f"http://127.0.0.1:{PUBLISH_PORT}", ingest=ingest, uid=state["uid"])
    url = state.get("url") or ""
    return f"{url}#komentar   (published, a reply, one awaiting moderation, spam withheld, one rejected)"


def cmd_up(args: argparse.Namespace) -> int:
    from services.index.celery_app import bootstrap
    from services.index.config import IndexSettings

    bootstrap(IndexSettings())
    start_processes()
    _wait_http(f"http://127.0.0.1:{INGEST_PORT}/healthz")
    _wait_http(f"http://127.0.0.1:{PUBLISH_PORT}/healthz")
    key = demo_key()
    articles = list(demo_articles(args.corpus, args.limit))
    with httpx.Client(
        base_url=f"http://127.0.0.1:{INGEST_PORT}", timeout=60, headers={"Authorization": f"Bearer {key}"}
    ) as client:
        ids = load(client, articles, len(articles))
        wait_searchable(client, ids)
    # Indexed articles become searchable at the next index refresh; make that now, not in a second.
    from shared.es import IndexNames, create_client

    settings = IndexSettings()
    es = create_client(settings)
    try:
        es.indices.refresh(index=IndexNames(settings.prefix).articles)
    finally:
        es.close()
    commented = _demo_comments(key, ids)
    from scripts.demo_comments import moderator

    username, password_file = moderator(NEWSROOM, RUN)
    edge = (
        f"\n  Edge cache      {_edge_url()}/   (Varnish in front of publish; purged by the workers)"
        if _edge_up()
        else "\n  Edge cache      off (KABAR_EDGE=off, or Varnish not running)"
    )
    print(f"""
Kabar is running.{edge}
  Reader site     http://127.0.0.1:{PUBLISH_PORT}/
  Search          http://127.0.0.1:{PUBLISH_PORT}/cari?q=banjir
  Search API      http://127.0.0.1:{PUBLISH_PORT}/api/v1/search?q=pertimbangan
  Newsroom API    http://127.0.0.1:{INGEST_PORT}/docs   (key for newsroom '{NEWSROOM}' in {RUN / "demo-key"})
  Comments        {commented}
  Moderation      http://127.0.0.1:{INGEST_PORT}/moderasi   (newsroom '{NEWSROOM}', user '{username}',
                  password in {password_file})
  Elasticsearch   http://127.0.0.1:9200/_cluster/health
Stop with Ctrl-C here, or `make down`.""")
    if args.detach:
        return 0
    # Stay in the foreground until Ctrl-C, or until `make down` signals this process (pid file).
    up_pid = _pidfile("up")
    up_pid.write_text(str(os.getpid()))
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stop_processes()
        up_pid.unlink(missing_ok=True)
    return 0


def cmd_down(_: argparse.Namespace) -> int:
    up_pid = _pidfile("up")
    if up_pid.exists():
        pid = int(up_pid.read_text())
        if _alive(pid):
            os.kill(pid, signal.SIGTERM)  # the foreground `demo up` stops its children and exits
            for _ in range(80):
                if not _alive(pid):
                    break
                time.sleep(0.25)
        up_pid.unlink(missing_ok=True)
    stop_processes()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.demo")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up")
    up.add_argument("--corpus", action="append", default=[], help="JSONL path or a corpus name (repeatable)")
    up.add_argument("--limit", type=int, default=None, help="at most this many articles per corpus")
    up.add_argument("--detach", action="store_true", help="return once loaded; stop later with `make down`")
    up.set_defaults(func=cmd_up)
    sub.add_parser("down").set_defaults(func=cmd_down)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
