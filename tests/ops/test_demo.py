"""The README's demo path: everything up, the printed URL serves a searchable archive, down leaves nothing."""

from __future__ import annotations

import os

import httpx
from elasticsearch import Elasticsearch

from harness.cleanup import drop_prefix
from harness.procs import ROOT, free_port, run_module


def _demo_pids() -> list[int]:
    run = ROOT / ".local" / "run"
    return [int(p.read_text()) for p in run.glob("demo-*.pid")]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def test_demo_serves_a_searchable_archive_and_down_stops_it(stack_env: dict[str, str], es: Elasticsearch) -> None:
    ingest_port, publish_port = free_port(), free_port()
    env = {
        **stack_env,
        "KABAR_PREFIX": f"{stack_env['KABAR_PREFIX']}demo",
        "KABAR_DEMO_INGEST_PORT": str(ingest_port),
        "KABAR_DEMO_PUBLISH_PORT": str(publish_port),
    }
    try:
        up = run_module("scripts.demo", "up", "--detach", env=env, timeout=300)
        assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
        assert f"http://127.0.0.1:{publish_port}/" in up.stdout
        started = _demo_pids()
        assert len(started) == 4 and all(_alive(pid) for pid in started)
        # The seed article (loaded through the ingest API) is found by another inflection.
        found = httpx.get(f"http://127.0.0.1:{publish_port}/api/v1/search", params={"q": "pertimbangan"}).json()
        assert any(r["title"].startswith("Rusia Pertimbangkan") for r in found["results"])
        # And the demo's own Indonesian articles are there.
        home = httpx.get(f"http://127.0.0.1:{publish_port}/")
        assert home.status_code == 200 and "Sukamaju" in home.text
        # Readers' comments on the reference story: three published (one a reply); the rest await moderators.
        story = next(line for line in up.stdout.splitlines() if line.strip().startswith("Comments"))
        url = story.split()[1].split("#")[0].replace("http://127.0.0.1:8002", f"http://127.0.0.1:{publish_port}")
        page = httpx.get(url)
        assert page.status_code == 200 and "3 Komentar" in page.text, url
        assert f"http://127.0.0.1:{ingest_port}/moderasi" in up.stdout
    finally:
        down = run_module("scripts.demo", "down", env=env)
        drop_prefix(env["KABAR_PREFIX"])  # indices, queues, Redis keys and the comments' schema
        (ROOT / ".local" / "run" / f"demo-moderator.{env['KABAR_PREFIX']}").unlink(missing_ok=True)
    assert down.returncode == 0
    assert not any(_alive(pid) for pid in started)
    assert not _demo_pids()
