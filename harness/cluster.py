"""The local cluster (three Elasticsearch nodes, three RabbitMQ nodes, Redis with a replica and three Sentinels)
that `scripts/services.sh cluster-up` starts on loopback, for the node-loss test and the cluster benchmark.

Everything goes through services.sh, so tests break nodes exactly the way an operator's script would.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any, cast

from elasticsearch import Elasticsearch

from services.index.config import IndexSettings

ROOT = Path(__file__).resolve().parents[1]
SERVICES_SH = ROOT / "scripts" / "services.sh"


def services_sh(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run scripts/services.sh with this checkout's defaults (no KABAR_* from the caller); raises on failure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    result = subprocess.run(
        ["bash", str(SERVICES_SH), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"services.sh {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def cluster_up() -> dict[str, str]:
    """Start the cluster (idempotent) and return the KABAR_* settings that point Kabar at every node."""
    services_sh("cluster-up")
    return cluster_env()


def cluster_env() -> dict[str, str]:
    env = {}
    for line in services_sh("cluster-env", timeout=30).stdout.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.startswith("KABAR_"):
            env[key] = value
    return env


def settings_for(env: dict[str, str], prefix: str) -> IndexSettings:
    """Settings for a prefix on the services `env` names (KABAR_* lines, as cluster_env gives them)."""
    values: dict[str, Any] = {k.removeprefix("KABAR_").lower(): v for k, v in env.items()}
    return IndexSettings(prefix=prefix, **values)


def es_node_holding_primary(es: Elasticsearch, index: str) -> int:
    """The number (1-3) of a node that holds a primary shard of `index` (node names are kabar-c1..c3)."""
    shards = cast(list[dict[str, str]], es.cat.shards(index=index, format="json", h="prirep,node,state").body)
    nodes = sorted(s["node"] for s in shards if s["prirep"] == "p" and s["state"] == "STARTED")
    if not nodes:
        raise RuntimeError(f"no started primary of {index}: {shards}")
    return int(nodes[0].rsplit("c", 1)[1])


def redis_primary_port() -> int:
    return int(services_sh("cluster-redis-primary", timeout=30).stdout.strip())


def wait_for_new_redis_primary(old: int, *, timeout: float = 60) -> int:
    """Sentinel's promotion of the replica after the primary on port `old` stopped; the new primary's port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            port = redis_primary_port()
        except RuntimeError:
            port = old
        if port != old:
            return port
        time.sleep(0.5)
    raise TimeoutError(f"Sentinel did not promote a new primary within {timeout} s (still {old})")
