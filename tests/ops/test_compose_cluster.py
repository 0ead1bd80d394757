"""docker-compose.cluster.yml, the cluster override of docker-compose.yml, merged and validated by Docker Compose
itself: three Elasticsearch nodes, three clustered RabbitMQ nodes, Redis primary + replica + three Sentinels,
every Kabar service pointed at every node, workers still scalable, and the base file's least privilege kept.
The start-up scripts it carries (Redis data nodes, Sentinels, RabbitMQ's cookie) run here against Debian's
Redis and a stand-in entrypoint, so they are tested, not only parsed.

scripts/compose.sh already passes `-f docker-compose.yml`; the override is the second file:
    scripts/compose.sh -f docker-compose.cluster.yml config --quiet
which is `docker compose -f docker-compose.yml -f docker-compose.cluster.yml config --quiet`.
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import pytest
from redis import Redis

from services.index.config import IndexSettings
from services.ingest.config import IngestSettings
from services.publish.config import PublishSettings
from services.wordpress.config import WordPressSettings
from tests.stack import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "scripts" / "compose.sh"
CLUSTER_FILE = "docker-compose.cluster.yml"

KABAR_SERVICES = (
    "ingest",
    "publish",
    "worker",
    "worker-related",
    "worker-notify",
    "worker-comments",
    "beat",
    "bootstrap",
)
WORKERS = ("worker", "worker-related", "worker-notify", "worker-comments")
ES_NODES = ("elasticsearch", "elasticsearch-2", "elasticsearch-3")
RABBIT_NODES = ("rabbitmq", "rabbitmq-2", "rabbitmq-3")
SENTINELS = ("redis-sentinel-1", "redis-sentinel-2", "redis-sentinel-3")


def _secret_names() -> list[str]:
    names = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0].strip()
        if "=" in line and not line.startswith("#") and ("PASS" in name or "SECRET" in name):
            names.append(name)
    return names


# The cluster's own secrets (documented at the top of the override), besides .env.example's.
CLUSTER_SECRETS = ("RABBITMQ_ERLANG_COOKIE", "REDIS_REPLICATION_PASSWORD", "REDIS_SENTINEL_PASSWORD")
SECRETS = {name: f"s3cret-{name.lower().replace('_', '-')}-x9" for name in [*_secret_names(), *CLUSTER_SECRETS]}
# Who may hold each cluster secret: the daemons that use it, never a Kabar service.
CLUSTER_SECRET_HOLDERS = {
    "RABBITMQ_ERLANG_COOKIE": set(RABBIT_NODES),
    "REDIS_REPLICATION_PASSWORD": {"redis", "redis-replica"},
    "REDIS_SENTINEL_PASSWORD": {"redis", "redis-replica", *SENTINELS},
}
SUPERUSER_SERVICES = {*ES_NODES, "es-setup"}
WRITABLE_ROOT = set(ES_NODES)  # the image writes its keystore and config files at start


def compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMPOSE), "-f", CLUSTER_FILE, *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, **SECRETS, **(env or {})},
    )


@pytest.fixture(scope="module")
def config() -> dict:
    """The merged, fully resolved configuration (interpolation, anchors, merges), with SECRETS as values."""
    out = compose("config", "--format", "json")
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict = json.loads(out.stdout)
    return result


def test_merged_config_validates() -> None:
    out = compose("config", "--quiet")
    assert out.returncode == 0, out.stderr[-3000:]


def test_the_cluster_secrets_are_required() -> None:
    """Without the cluster's secrets the merged file is refused, naming the missing one."""
    env = {k: v for k, v in os.environ.items() if k not in CLUSTER_SECRETS}
    out = subprocess.run(
        [str(COMPOSE), "-f", CLUSTER_FILE, "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**env, **{k: v for k, v in SECRETS.items() if k not in CLUSTER_SECRETS}},
    )
    assert out.returncode != 0
    assert any(name in out.stderr for name in CLUSTER_SECRETS), out.stderr


def test_every_service_has_a_healthcheck_and_healthy_dependencies(config: dict) -> None:
    for name, svc in config["services"].items():
        if svc.get("restart") == "no":  # one-shot jobs (bootstrap, es-setup, es-certs)
            continue
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dep)


def test_every_kabar_service_gets_every_node(config: dict) -> None:
    services = config["services"]
    for name in KABAR_SERVICES:
        env = services[name]["environment"]
        es_urls = env["KABAR_ES_URL"].split(",")
        assert es_urls == [f"http://{node}:9200" for node in ES_NODES], name
        brokers = [urlparse(url) for url in env["KABAR_BROKER_URL"].split(";")]
        assert [(b.scheme, b.hostname, b.port) for b in brokers] == [("amqp", n, 5672) for n in RABBIT_NODES], name
        assert {b.password for b in brokers} == {SECRETS["RABBITMQ_DEFAULT_PASS"]}, name
        assert env["KABAR_REDIS_SENTINELS"].split(",") == [f"{s}:26379" for s in SENTINELS], name
        assert env["KABAR_REDIS_SENTINEL_MASTER"] == "kabar-cluster"
        assert env["KABAR_ES_REPLICAS"] == "1" and env["KABAR_REDIS_WAIT_REPLICAS"] == "1", name
        # Each keeps its own Redis user from the base file (the host is unused under Sentinel).
        assert urlparse(env["KABAR_REDIS_URL"]).username in {"ingest", "worker", "publish"}, name
        depends = services[name]["depends_on"]
        for node in (*ES_NODES, *RABBIT_NODES, "redis", "redis-replica", *SENTINELS):
            assert depends[node]["condition"] == "service_healthy", (name, node)
    # Flower follows the broker list too.
    flower = services["flower"]["environment"]["CELERY_BROKER_URL"].split(";")
    assert [urlparse(url).hostname for url in flower] == list(RABBIT_NODES)


def test_kabar_env_matches_settings_classes(config: dict) -> None:
    """Every KABAR_* variable a Kabar service gets is a field of the settings it reads (no silent typos)."""
    workers = set(IndexSettings.model_fields) | set(WordPressSettings.model_fields)
    fields = {
        "ingest": set(IngestSettings.model_fields),
        "publish": set(PublishSettings.model_fields),
        **dict.fromkeys((*WORKERS, "beat"), workers),
        "bootstrap": set(IndexSettings.model_fields),
    }
    for name, known in fields.items():
        for key in config["services"][name].get("environment") or {}:
            if key.startswith("KABAR_"):
                assert key.removeprefix("KABAR_").lower() in known, f"{name}: {key} is not a setting"


def test_workers_scale(config: dict) -> None:
    """`--scale worker=3` works: no fixed container name or host port on any worker (nor anywhere else)."""
    for name, svc in config["services"].items():
        assert "container_name" not in svc, name
    for name in WORKERS:
        assert not config["services"][name].get("ports"), f"{name} publishes a host port: it could not scale"


def test_three_elasticsearch_nodes_form_one_cluster_over_tls(config: dict) -> None:
    services = config["services"]
    data_volumes, names = set(), set()
    for node in ES_NODES:
        svc = services[node]
        env = svc["environment"]
        assert "discovery.type" not in env, f"{node} is still a single-node cluster"
        assert env["cluster.name"] == "kabar"
        assert env["discovery.seed_hosts"].split(",") == list(ES_NODES)
        assert env["cluster.initial_master_nodes"].split(",") == list(ES_NODES)
        assert env["xpack.security.enabled"] == "true" and env["action.destructive_requires_name"] == "true"
        assert env["xpack.security.transport.ssl.enabled"] == "true"
        assert env["xpack.security.transport.ssl.certificate"] == f"certs/{node}/{node}.crt"
        names.add(env["node.name"])
        mounts = {v["target"]: v for v in svc["volumes"]}
        data_volumes.add(mounts["/usr/share/elasticsearch/data"]["source"])
        assert mounts["/usr/share/elasticsearch/snapshots"]["source"] == "es-snapshots"  # one shared repository
        certs = mounts["/usr/share/elasticsearch/config/certs"]
        assert certs["source"] == "es-certs" and certs.get("read_only") is True
        assert svc["depends_on"]["es-certs"]["condition"] == "service_completed_successfully"
        # No node waits for another's health: the cluster forms only once two are up.
        assert not set(svc["depends_on"]) & set(ES_NODES), node
    assert names == set(ES_NODES) and len(data_volumes) == 3
    certs_job = services["es-certs"]
    assert certs_job["restart"] == "no"
    assert all(node in " ".join(certs_job["entrypoint"]) for node in ES_NODES)


def test_three_rabbitmq_nodes_cluster_through_classic_config(config: dict) -> None:
    services = config["services"]
    data_volumes = set()
    for node in RABBIT_NODES:
        svc = services[node]
        assert svc["hostname"] == node  # node name rabbit@<hostname>, stable across re-creation
        script = svc["entrypoint"][-1]
        assert "cluster_formation.peer_discovery_backend = classic_config" in script
        for n, peer in enumerate(RABBIT_NODES, 1):
            assert f"cluster_formation.classic_config.nodes.{n} = rabbit@{peer}" in script
        assert svc["environment"]["RABBITMQ_CLUSTER_COOKIE"] == SECRETS["RABBITMQ_ERLANG_COOKIE"]
        assert "RABBITMQ_ERLANG_COOKIE" not in svc["environment"]
        data_volumes.add({v["target"]: v for v in svc["volumes"]}["/var/lib/rabbitmq"]["source"])
    assert len(data_volumes) == 3


def test_redis_primary_replica_and_three_sentinels(config: dict) -> None:
    services = config["services"]
    assert services["redis"]["environment"]["REDIS_HOST"] == "redis"
    assert "KABAR_REDIS_REPLICA_OF" not in services["redis"]["environment"]
    replica = services["redis-replica"]
    assert replica["environment"]["KABAR_REDIS_REPLICA_OF"] == "redis 6379"
    assert replica["depends_on"]["redis"]["condition"] == "service_healthy"
    volumes = {services[name]["volumes"][0]["source"] for name in ("redis", "redis-replica", *SENTINELS)}
    assert len(volumes) == 5, volumes
    for name in SENTINELS:
        svc = services[name]
        assert svc["environment"]["SENTINEL_HOST"] == name
        assert "sentinel monitor kabar-cluster" in svc["entrypoint"][-1] and "2\\n" in svc["entrypoint"][-1]


# --- Least privilege, as the base file's tests check it -------------------------------------------------------


def _argv_strings(svc: dict) -> list[str]:
    parts: list[str] = []
    for key in ("command", "entrypoint"):
        value = svc.get(key) or []
        parts.extend([value] if isinstance(value, str) else value)
    test = (svc.get("healthcheck") or {}).get("test") or []
    parts.extend([test] if isinstance(test, str) else test)
    return [str(p) for p in parts]


def test_no_secret_value_on_a_command_line(config: dict) -> None:
    for name, svc in config["services"].items():
        for arg in _argv_strings(svc):
            for secret_name, value in SECRETS.items():
                assert value not in arg, f"{name}: {secret_name} on a command line"


def test_cluster_secrets_reach_only_their_daemons(config: dict) -> None:
    for secret, holders in CLUSTER_SECRET_HOLDERS.items():
        having = {
            name
            for name, svc in config["services"].items()
            if any(SECRETS[secret] in str(v) for v in (svc.get("environment") or {}).values())
        }
        assert having == holders, secret
    for name, svc in config["services"].items():
        env = svc.get("environment") or {}
        if name not in SUPERUSER_SERVICES:
            assert not [k for k, v in env.items() if SECRETS["ELASTIC_PASSWORD"] in str(v)], name


def test_every_container_runs_as_a_non_root_user_on_a_read_only_root(config: dict) -> None:
    for name, svc in config["services"].items():
        user = str(svc.get("user") or "")
        assert user and user.split(":", 1)[0] not in {"0", "root"}, f"{name} runs as root"
        assert svc.get("security_opt") == ["no-new-privileges:true"], name
        if name in WRITABLE_ROOT:
            continue
        assert svc.get("read_only") is True, f"{name}: root filesystem is writable"
        assert any(str(t).split(":")[0] == "/tmp" for t in svc.get("tmpfs") or []), f"{name}: no tmpfs /tmp"


# --- The start-up scripts, run for real ----------------------------------------------------------------------


def _script(config: dict, service: str) -> str:
    """The service's start-up script as its shell gets it (`config` prints `$$` escaped, as in the file)."""
    entrypoint = config["services"][service]["entrypoint"]
    assert entrypoint[:2] == ["/bin/sh", "-c"], entrypoint
    script: str = entrypoint[2]
    return script.replace("$$", "$")


def test_redis_nodes_replicate_and_a_sentinel_watches_them_with_acl_users(config: dict, tmp_path: Path) -> None:
    """The data nodes' and a Sentinel's scripts on Debian's Redis (loopback, free ports): start.sh's users
    still work, the replica follows the primary as `replication`, the Sentinel sees both as `sentinel`, and
    nothing in an ACL file or a process's command line is a password."""
    primary_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    env_common = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "KABAR_", "SENTINEL_"))},
        "KABAR_PREFIX": "clustertest",
        "KABAR_DEPLOY_DIR": str(ROOT / "deploy" / "redis"),
        **{k: SECRETS[k] for k in SECRETS if k.startswith("REDIS_")},
    }
    procs: list[subprocess.Popen[bytes]] = []
    clients: list[Redis] = []

    def start(script: str, **env: str) -> None:
        log = (tmp_path / f"{env.get('REDIS_PORT') or env.get('SENTINEL_PORT')}.log").open("wb")
        procs.append(subprocess.Popen(["sh", "-c", script], env={**env_common, **env}, stdout=log, stderr=log))

    def client(port: int, user: str | None = None, password: str | None = None) -> Redis:
        c = Redis(host="127.0.0.1", port=port, username=user, password=password, socket_timeout=5)
        clients.append(c)
        return c

    dirs = {name: tmp_path / name for name in ("primary", "replica", "sentinel")}
    for d in dirs.values():
        d.mkdir()
    try:
        start(
            _script(config, "redis"),
            REDIS_PORT=str(primary_port),
            REDIS_HOST="127.0.0.1",
            REDIS_DATA_DIR=str(dirs["primary"]),
            KABAR_REDIS_RUN_DIR=str(dirs["primary"]),
        )
        ingest = client(primary_port, "ingest", SECRETS["REDIS_INGEST_PASSWORD"])
        wait_until(ingest.ping, timeout=20, what="primary redis")
        start(
            _script(config, "redis-replica"),
            REDIS_PORT=str(replica_port),
            REDIS_HOST="127.0.0.1",
            REDIS_DATA_DIR=str(dirs["replica"]),
            KABAR_REDIS_RUN_DIR=str(dirs["replica"]),
            KABAR_REDIS_REPLICA_OF=f"127.0.0.1 {primary_port}",
        )
        replica = client(replica_port, "worker", SECRETS["REDIS_WORKER_PASSWORD"])
        # INFO is the Sentinel user's (the services' users may not run it).
        watcher = client(replica_port, "sentinel", SECRETS["REDIS_SENTINEL_PASSWORD"])
        wait_until(
            lambda: watcher.info("replication").get("master_link_status") == "up",
            timeout=30,
            what="replica linked as the replication user",
        )
        ingest.set("clustertest:k", "v")
        wait_until(lambda: replica.get("clustertest:k") == b"v", timeout=10, what="write replicated")
        assert ingest.execute_command("WAIT", 1, 2000) == 1
        start(
            _script(config, "redis-sentinel-1"),
            SENTINEL_PORT=str(sentinel_port),
            SENTINEL_HOST="127.0.0.1",
            SENTINEL_DATA_DIR=str(dirs["sentinel"]),
            SENTINEL_PRIMARY=f"127.0.0.1 {primary_port}",
        )
        sentinel = client(sentinel_port)

        def sentinel_state() -> dict[str, Any]:
            return cast(dict[str, Any], sentinel.sentinel_master("kabar-cluster"))

        wait_until(lambda: int(sentinel_state()["num-slaves"]) == 1, timeout=30, what="sentinel sees the replica")
        state = sentinel_state()
        assert state["port"] == primary_port and not state["is_sdown"] and not state["is_odown"]
        assert (dirs["sentinel"] / "sentinel.conf").stat().st_mode & 0o077 == 0
        # Hashes only in the ACL files; no password on any of the processes' command lines.
        for node in ("primary", "replica"):
            acl = (dirs[node] / "kabar-users.acl").read_text()
            assert "user replication on #" in acl and "user sentinel on #" in acl
            assert not any(value in acl for value in SECRETS.values())
        for proc in procs:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
            assert not any(value in cmdline for value in SECRETS.values()), cmdline
    finally:
        for c in clients:
            c.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_rabbitmq_cookie_and_peer_list_are_written_before_the_image_starts(config: dict, tmp_path: Path) -> None:
    """The RabbitMQ nodes' script with a stand-in docker-entrypoint.sh: the cookie file (mode 400) holds the
    shared cookie, the variable is gone, and the config folder has the classic-config peer list."""
    stub_dir = tmp_path / "bin"
    stub_dir.mkdir()
    report = tmp_path / "report.json"
    stub = stub_dir / "docker-entrypoint.sh"
    stub.write_text(
        "#!/usr/bin/env python3\nimport json, os, sys\n"
        f"json.dump({{'argv': sys.argv[1:], 'env': dict(os.environ)}}, open({str(report)!r}, 'w'))\n"
    )
    stub.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    out = subprocess.run(
        ["sh", "-c", _script(config, "rabbitmq-2")],
        env={
            "PATH": f"{stub_dir}:{os.environ['PATH']}",
            "HOME": str(home),
            "TMPDIR": str(tmp_path),
            "RABBITMQ_CLUSTER_COOKIE": SECRETS["RABBITMQ_ERLANG_COOKIE"],
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    cookie = home / ".erlang.cookie"
    assert cookie.read_text() == SECRETS["RABBITMQ_ERLANG_COOKIE"]
    assert stat.S_IMODE(cookie.stat().st_mode) == 0o400
    seen = json.loads(report.read_text())
    assert seen["argv"] == ["rabbitmq-server"]
    assert "RABBITMQ_CLUSTER_COOKIE" not in seen["env"]
    peers = (Path(seen["env"]["RABBITMQ_CONFIG_FILES"]) / "90-kabar-cluster.conf").read_text()
    assert re.findall(r"nodes\.\d = (\S+)", peers) == [f"rabbit@{n}" for n in RABBIT_NODES]
    # Without the cookie the node refuses to start.
    missing = subprocess.run(
        ["sh", "-c", _script(config, "rabbitmq")],
        env={"PATH": f"{stub_dir}:{os.environ['PATH']}", "HOME": str(home), "TMPDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert missing.returncode != 0 and "RABBITMQ_ERLANG_COOKIE" in missing.stderr
