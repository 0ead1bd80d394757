"""docker-compose.cluster.yml, the cluster override of docker-compose.yml, merged and validated by Docker Compose
itself: three Elasticsearch nodes, three clustered RabbitMQ nodes, Redis primary + replica + three Sentinels,
two replicas each of ingest and publish behind the edge, every Kabar service pointed at every node, workers
still scalable, and the base file's least privilege kept. The start-up scripts it runs (deploy/redis/start.sh on
the data nodes, the Sentinels', RabbitMQ's cookie) run here against Debian's Redis and a stand-in entrypoint,
and the edge's VCL is compiled and run by the local Varnish (as scripts/services.sh's edge is), so they are
tested, not only parsed.

scripts/compose.sh already passes `-f docker-compose.yml`; the override is the second file:
    scripts/compose.sh -f docker-compose.cluster.yml config --quiet
which is `docker compose -f docker-compose.yml -f docker-compose.cluster.yml config --quiet`.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import httpx
import pytest
from redis import Redis
from redis.exceptions import AuthenticationError, ResponseError

from harness.edge import edge_command
from harness.procs import Proc
from services.index.config import IndexSettings
from services.ingest.config import IngestSettings
from services.publish.config import PublishSettings
from services.wordpress.config import WordPressSettings
from shared.redisconn import redis_client
from shared.settings import KabarSettings
from tests.ops.test_compose import _argv_strings
from tests.stack import free_port, wait_until

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "scripts" / "compose.sh"
CLUSTER_FILE = "docker-compose.cluster.yml"
VARNISH_DIR = ROOT / "deploy" / "varnish"

INGESTS = ("ingest", "ingest-2")
PUBLISHES = ("publish", "publish-2")
# Kabar's own services (the app image), which the cluster points at every node.
APP_SERVICES = (
    *INGESTS,
    *PUBLISHES,
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


# The cluster's own secrets (documented at the top of the override and in .env.example).
CLUSTER_SECRETS = (
    "RABBITMQ_ERLANG_COOKIE",
    "REDIS_REPLICATION_PASSWORD",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_SENTINEL_CLIENT_PASSWORD",
)
SECRETS = {name: f"s3cret-{name.lower().replace('_', '-')}-x9" for name in [*_secret_names(), *CLUSTER_SECRETS]}
# Who may hold each cluster secret: the daemons that use it; a Kabar service only the Sentinels' own password
# (to ask them for the primary), never one that reconfigures a server (the `sentinel` user's) or joins a cluster.
CLUSTER_SECRET_HOLDERS = {
    "RABBITMQ_ERLANG_COOKIE": set(RABBIT_NODES),
    "REDIS_REPLICATION_PASSWORD": {"redis", "redis-replica"},
    "REDIS_SENTINEL_PASSWORD": {"redis", "redis-replica", *SENTINELS},
    "REDIS_SENTINEL_CLIENT_PASSWORD": {*SENTINELS, *APP_SERVICES},
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


@pytest.mark.parametrize("secret", CLUSTER_SECRETS)
def test_the_cluster_secrets_are_required(secret: str) -> None:
    """Without any one of the cluster's secrets the merged file is refused, naming it. (Set empty: the
    environment wins over the env file, .env or else .env.example, which has placeholders.)"""
    out = compose("config", "--quiet", env={secret: ""})
    assert out.returncode != 0
    assert secret in out.stderr, out.stderr


def test_env_example_has_the_cluster_secrets() -> None:
    """Every secret the override asks for has a placeholder in .env.example, to be changed like the others."""
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line and line[0] != "#"
    )
    override = (ROOT / CLUSTER_FILE).read_text()
    asked = set(re.findall(r"\$\{(\w+):\?", override)) - set(
        re.findall(r"\$\{(\w+):\?", (ROOT / "docker-compose.yml").read_text())
    )
    assert asked == set(CLUSTER_SECRETS)
    for name in CLUSTER_SECRETS:
        assert "CHANGE-ME" in example[name], name


def test_every_service_has_a_healthcheck_and_healthy_dependencies(config: dict) -> None:
    for name, svc in config["services"].items():
        if svc.get("restart") == "no":  # one-shot jobs (bootstrap, es-setup, es-certs)
            continue
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dep)


def test_every_kabar_service_gets_every_node(config: dict) -> None:
    services = config["services"]
    for name in APP_SERVICES:
        env = services[name]["environment"]
        es_urls = env["KABAR_ES_URL"].split(",")
        assert es_urls == [f"http://{node}:9200" for node in ES_NODES], name
        brokers = [urlparse(url) for url in env["KABAR_BROKER_URL"].split(";")]
        assert [(b.scheme, b.hostname, b.port) for b in brokers] == [("amqp", n, 5672) for n in RABBIT_NODES], name
        assert {b.password for b in brokers} == {SECRETS["RABBITMQ_DEFAULT_PASS"]}, name
        assert env["KABAR_REDIS_SENTINELS"].split(",") == [f"{s}:26379" for s in SENTINELS], name
        assert env["KABAR_REDIS_SENTINEL_MASTER"] == "kabar-cluster"
        assert env["KABAR_REDIS_SENTINEL_PASSWORD"] == SECRETS["REDIS_SENTINEL_CLIENT_PASSWORD"], name
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
        **{name: set(IngestSettings.model_fields) for name in INGESTS},
        **{name: set(PublishSettings.model_fields) for name in PUBLISHES},
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


@pytest.fixture(scope="module")
def base_config() -> dict:
    """docker-compose.yml alone, as the single-node deployment runs it."""
    out = subprocess.run(
        [str(COMPOSE), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env={**os.environ, **SECRETS},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict = json.loads(out.stdout)
    return result


def test_every_worker_health_check_counts_only_its_own_container(config: dict, base_config: dict) -> None:
    """With several worker containers, a check that any worker answers would keep a hung one healthy: every
    worker's health check (single node and cluster) is `kabar worker-health --this-host`."""
    for services in (base_config["services"], config["services"]):
        checked = set()
        for name, svc in services.items():
            test = (svc.get("healthcheck") or {}).get("test") or []
            if "worker-health" in " ".join(test):
                assert test == ["CMD", "kabar", "worker-health", "--this-host"], name
                checked.add(name)
        assert checked == set(WORKERS)


def test_two_replicas_each_of_ingest_and_publish(config: dict) -> None:
    """ingest-2 and publish-2 are their first replica's twins (image, command, environment, health check,
    hardening) with no host port: no two services publish the same host port, and only the first replicas
    keep their loopback ports (ingest's moderation page, publish without the edge)."""
    services = config["services"]
    for first, second in (INGESTS, PUBLISHES):
        one, two = services[first], services[second]
        for key in ("image", "command", "environment", "healthcheck", "user", "read_only", "tmpfs", "depends_on"):
            assert one.get(key) == two.get(key), (second, key)
        assert not two.get("ports"), f"{second} publishes a host port"
        assert "container_name" not in two
        assert [(p["host_ip"], p["published"]) for p in one["ports"]] in (
            [("127.0.0.1", "8001")],
            [("127.0.0.1", "8002")],
        )
    published = [
        (port.get("host_ip", ""), str(port["published"]))
        for svc in services.values()
        for port in svc.get("ports") or []
    ]
    assert len(published) == len(set(published)), published


# --- The edge in front of the replicas ------------------------------------------------------------------------

BACKEND = re.compile(r"backend (\w+) \{(.*?)\n\}", re.S)


def _backends(vcl: str) -> dict[str, dict[str, str]]:
    """Each backend's fields (`.host`, `.port`, `.probe`, ...) by backend name."""
    return {name: dict(re.findall(r"\.(\w+) = \"?([^\";]+)\"?;", body)) for name, body in BACKEND.findall(vcl)}


def _purge_rules(vcl: str) -> str:
    """The purgers' ACL and kabar_may_purge, from the ACL to the end of the file."""
    return vcl[vcl.index("acl purgers {") :]


def _varnish_image_files() -> dict[str, Path]:
    """The VCL files deploy/varnish/Dockerfile puts into the image: path in the image -> file here."""
    copies = re.findall(r"^COPY (\S+) (\S+)$", (VARNISH_DIR / "Dockerfile").read_text(), re.M)
    return {target: VARNISH_DIR / source for source, target in copies if target.endswith(".vcl")}


def _vcl_path(config: dict) -> str:
    """vcl_path as the cluster's varnishd gets it: the last -p vcl_path of its entrypoint and command."""
    entrypoint = re.findall(r'"-p", "vcl_path=([^"]+)"', (VARNISH_DIR / "Dockerfile").read_text())
    command = config["services"]["varnish"]["command"]
    given = entrypoint + [arg.split("=", 1)[1] for arg in command if arg.startswith("vcl_path=")]
    return given[-1]


def _edge_config(root: Path, config: dict, ports: dict[str, int]) -> tuple[Path, str]:
    """The cluster edge's VCL laid out under `root` as in its image (the Dockerfile's COPYs), with the compose
    host names made 127.0.0.1 and these ports (the local VCL compiler resolves every backend's name, and
    compose's do not resolve here). Returns the main file and the vcl_path the override gives."""

    def localise(vcl: str) -> str:
        def backend(match: re.Match[str]) -> str:
            host = re.search(r'\.host = "([^"]+)";', match[0])
            assert host, match[0]
            body = match[0].replace(host[0], '.host = "127.0.0.1";')
            return re.sub(r'\.port = "\d+";', f'.port = "{ports.get(host[1], 9)}";', body)

        return BACKEND.sub(backend, vcl)

    for target, source in _varnish_image_files().items():
        path = root / target.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(localise(source.read_text()))
    vcl_path = ":".join(str(root / folder.lstrip("/")) for folder in _vcl_path(config).split(":"))
    main = re.search(r'"-f", "([^"]+)"', (VARNISH_DIR / "Dockerfile").read_text())
    assert main
    return root / main[1].lstrip("/"), vcl_path


def test_the_edge_balances_both_replicas_of_each(config: dict) -> None:
    """The override's varnish loads compose-cluster-backends.vcl (the image's cluster folder, first on its
    vcl_path), which has one probed backend per replica in a round-robin director for publish and for ingest,
    and waits for every replica before it resolves their names; its purge rules are compose-backends.vcl's."""
    varnish = config["services"]["varnish"]
    for name in (*INGESTS, *PUBLISHES):
        assert varnish["depends_on"][name]["condition"] == "service_healthy", name
    assert any(arg.startswith("malloc,") for arg in varnish["command"])  # the base file's storage, kept
    images = _varnish_image_files()
    first = _vcl_path(config).split(":")[0]
    assert images[f"{first}/kabar-backends.vcl"] == VARNISH_DIR / "compose-cluster-backends.vcl"
    vcl = (VARNISH_DIR / "compose-cluster-backends.vcl").read_text()
    backends = _backends(vcl)
    pools: dict[str, set[str]] = {}
    for pool, backend in re.findall(r"(\w+)\.add_backend\((\w+)\)", vcl):
        pools.setdefault(pool, set()).add(backends[backend]["host"])
        assert backends[backend]["port"] == "8000" and backends[backend]["probe"], backend
    assert pools == {"publish_pool": set(PUBLISHES), "ingest_pool": set(INGESTS)}
    assert re.search(r"new publish_pool = directors\.round_robin\(\);", vcl)
    assert re.search(r"new ingest_pool = directors\.round_robin\(\);", vcl)
    assert re.search(r"sub kabar_to_publish \{\s*set req\.backend_hint = publish_pool\.backend\(\);\s*\}", vcl)
    assert re.search(r"sub kabar_to_ingest \{\s*set req\.backend_hint = ingest_pool\.backend\(\);\s*\}", vcl)
    assert _purge_rules(vcl) == _purge_rules((VARNISH_DIR / "compose-backends.vcl").read_text())
    # kabar.vcl itself names no backend: each deployment's file picks them.
    kabar = (VARNISH_DIR / "kabar.vcl").read_text()
    assert not re.search(r"backend_hint = (?!req\.)", kabar) and "bereq.backend" not in kabar


def _compile(main: Path, vcl_path: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        # No jail (as scripts/services.sh and harness/edge.py run it): the compiler reads the files as this user.
        ["varnishd", "-C", "-j", "none", "-n", str(workdir), "-p", f"vcl_path={vcl_path}", "-f", str(main)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


needs_varnish = pytest.mark.skipif(not shutil.which("varnishd"), reason="varnishd not installed (scripts/setup.sh)")


@needs_varnish
def test_every_edge_config_compiles(config: dict, tmp_path: Path) -> None:
    """kabar.vcl with each deployment's backends compiles in the local Varnish 7.1 (the compose image's
    packages): the loopback one as scripts/services.sh writes it, compose's and the cluster's as the image
    holds them (the cluster's through the override's vcl_path)."""
    local = tmp_path / "local"
    local.mkdir()
    shutil.copy(VARNISH_DIR / "kabar.vcl", local / "kabar.vcl")
    template = (VARNISH_DIR / "local-backends.vcl.in").read_text()
    (local / "kabar-backends.vcl").write_text(
        template.replace("@PUBLISH_PORT@", "8002").replace("@INGEST_PORT@", "8001")
    )
    main, cluster_path = _edge_config(tmp_path / "image", config, {})
    image_path = str(main.parent)  # the entrypoint's vcl_path, without the override
    for name, (conf, vcl_path) in {
        "local": (local / "kabar.vcl", str(local)),
        "compose": (main, image_path),
        "cluster": (main, cluster_path),
    }.items():
        out = _compile(conf, vcl_path, tmp_path / f"work-{name}")
        assert out.returncode == 0, f"{name}: {out.stderr[-3000:]}"
        # The C it compiled to has the cluster's directors only in the cluster's build.
        assert ("publish_pool" in out.stdout + out.stderr) == (name == "cluster"), name


class _Replica(BaseHTTPRequestHandler):
    """A stand-in publish or ingest: answers every path (its /healthz too) with its own name."""

    def do_GET(self) -> None:
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Replica", self.server.name)  # type: ignore[attr-defined]
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def replicas() -> Iterator[dict[str, ThreadingHTTPServer]]:
    servers: dict[str, ThreadingHTTPServer] = {}
    for name in (*PUBLISHES, *INGESTS):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Replica)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    yield servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


@needs_varnish
def test_the_cluster_edge_spreads_requests_over_the_replicas_and_leaves_out_a_dead_one(
    config: dict, replicas: dict[str, ThreadingHTTPServer]
) -> None:
    """The cluster's edge config in a real varnishd (as harness/edge.py runs it, with the override's vcl_path
    last), in front of stand-in replicas on loopback: reader pages and /v1 alternate between both replicas of
    publish and of ingest; a replica that stops is left out once its probe fails, the other takes everything."""
    folder = Path(tempfile.mkdtemp(prefix="kabar-edge-cluster-"))
    proc: Proc | None = None
    try:
        folder.chmod(0o755)  # the VCL compiler reads it as the edge's user
        ports = {name: int(server.server_address[1]) for name, server in replicas.items()}
        main, vcl_path = _edge_config(folder / "image", config, ports)
        for path in folder.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        workdir = folder / "work"
        workdir.mkdir()
        if os.geteuid() == 0:
            entry = pwd.getpwnam("kabar-varnish")
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
        port = free_port()
        args = [*edge_command(conf=main, workdir=workdir, port=port), "-p", f"vcl_path={vcl_path}"]
        proc = Proc("edge-cluster", args, dict(os.environ)).start()
        url = f"http://127.0.0.1:{port}"
        proc.wait_ready(
            lambda: httpx.get(f"{url}/.edge/health", timeout=1).status_code == 200, timeout=60, what="varnish up"
        )

        def served(path: str, n: int = 8) -> list[str]:
            return [httpx.get(f"{url}{path}{i}", timeout=5).headers["X-Replica"] for i in range(n)]

        # Every probe starts healthy (.initial): round-robin from the first request.
        assert set(served("/berita/page-")) == set(PUBLISHES)
        assert set(served("/v1/articles/a-")) == set(INGESTS)
        assert {httpx.post(f"{url}/v1/articles", timeout=5).headers["X-Replica"] for _ in range(4)} == set(INGESTS)
        for name in ("publish-2", "ingest"):
            replicas[name].shutdown()
            replicas[name].server_close()
        wait_until(
            lambda: set(served("/berita/later-", 4)) == {"publish"} and set(served("/v1/later-", 4)) == {"ingest-2"},
            timeout=20,
            what="the dead replicas left out",
        )
        assert set(served("/berita/after-")) == {"publish"}
        assert set(served("/v1/after-")) == {"ingest-2"}
    finally:
        if proc is not None:
            proc.stop()
        shutil.rmtree(folder, ignore_errors=True)


# --- es-setup ---------------------------------------------------------------------------------------------------


def test_es_setup_is_given_every_node_and_uses_them_all(config: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """es-setup gets the comma list like the services, and setup_security.py hands every node to its client
    (which skips one that is away), rather than the whole list as one URL."""
    env = config["services"]["es-setup"]["environment"]
    assert env["KABAR_ES_URL"].split(",") == [f"http://{node}:9200" for node in ES_NODES]
    spec = importlib.util.spec_from_file_location("setup_security", ROOT / "deploy/elasticsearch/setup_security.py")
    assert spec and spec.loader
    setup_security = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup_security)
    made: list[dict[str, Any]] = []

    class Client:
        def __init__(self, hosts: list[str], **options: Any) -> None:
            made.append({"hosts": hosts, **options})
            self.cluster = self.security = self

        def health(self, **_: Any) -> None:
            pass

        def put_role(self, **_: Any) -> None:
            pass

        def put_user(self, **_: Any) -> None:
            pass

    monkeypatch.setattr(setup_security, "Elasticsearch", Client)
    monkeypatch.setattr(os, "environ", {k: str(v) for k, v in env.items()})
    assert setup_security.main() == 0
    assert made[0]["hosts"] == [f"http://{node}:9200" for node in ES_NODES]
    assert made[0]["max_retries"] >= len(ES_NODES) - 1
    assert setup_security.es_hosts(" http://a:9200 , http://b:9200,") == ["http://a:9200", "http://b:9200"]
    with pytest.raises(ValueError):
        setup_security.es_hosts(" , ")


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
    # Both data nodes are the base file's Redis: deploy/redis/start.sh, mounted read-only, makes every user.
    for name in ("redis", "redis-replica"):
        svc = services[name]
        assert svc["entrypoint"] == ["/bin/sh", "/opt/kabar-deploy/start.sh"], name
        mounts = {v["target"]: v for v in svc["volumes"]}
        deploy = mounts["/opt/kabar-deploy"]
        assert Path(deploy["source"]) == ROOT / "deploy" / "redis" and deploy.get("read_only") is True, name
    for name in SENTINELS:
        svc = services[name]
        assert svc["environment"]["SENTINEL_HOST"] == name
        assert "sentinel monitor kabar-cluster" in svc["entrypoint"][-1] and "2\\n" in svc["entrypoint"][-1]
        assert "printf 'requirepass %s\\n'" in svc["entrypoint"][-1]


# --- Least privilege, as the base file's tests check it -------------------------------------------------------


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


def _entrypoint(config: dict, service: str) -> list[str]:
    """The service's entrypoint with its bind-mounted files found in this checkout (deploy/redis here)."""
    svc = config["services"][service]
    mounts = {v["target"]: v["source"] for v in svc.get("volumes") or [] if v["type"] == "bind"}
    argv = []
    for arg in svc["entrypoint"]:
        for target, source in mounts.items():
            if arg.startswith(f"{target}/"):
                arg = source + arg.removeprefix(target)
        argv.append(arg)
    return argv


def test_redis_nodes_replicate_and_a_sentinel_watches_them_with_acl_users(config: dict, tmp_path: Path) -> None:
    """The data nodes (deploy/redis/start.sh, with each service's environment from the merged file) and a
    Sentinel's script on Debian's Redis (loopback, free ports): start.sh's users still work, the replica follows
    the primary as `replication`, the Sentinel sees both as `sentinel` and answers only with its own password,
    which is the one Kabar's services use to find the primary; nothing in an ACL file or a process's command
    line is a password, and a Sentinel restarted with a changed password takes it."""
    primary_port, replica_port, sentinel_port = free_port(), free_port(), free_port()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "KABAR_", "SENTINEL_"))}
    procs: list[subprocess.Popen[bytes]] = []
    clients: list[Redis] = []

    def start(service: str, argv: list[str], **env: str) -> subprocess.Popen[bytes]:
        service_env = {k: str(v) for k, v in config["services"][service]["environment"].items()}
        log = (tmp_path / f"{service}-{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            argv, env={**base_env, **service_env, "KABAR_PREFIX": "clustertest", **env}, stdout=log, stderr=log
        )
        procs.append(proc)
        return proc

    def client(port: int, user: str | None = None, password: str | None = None) -> Redis:
        c = Redis(host="127.0.0.1", port=port, username=user, password=password, socket_timeout=5)
        clients.append(c)
        return c

    dirs = {name: tmp_path / name for name in ("primary", "replica", "sentinel")}
    for d in dirs.values():
        d.mkdir()
    try:
        start(
            "redis",
            _entrypoint(config, "redis"),
            REDIS_PORT=str(primary_port),
            REDIS_HOST="127.0.0.1",
            REDIS_DATA_DIR=str(dirs["primary"]),
            KABAR_REDIS_RUN_DIR=str(dirs["primary"]),
        )
        ingest = client(primary_port, "ingest", SECRETS["REDIS_INGEST_PASSWORD"])
        wait_until(ingest.ping, timeout=20, what="primary redis")
        start(
            "redis-replica",
            _entrypoint(config, "redis-replica"),
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
        sentinel_env = {
            "SENTINEL_PORT": str(sentinel_port),
            "SENTINEL_HOST": "127.0.0.1",
            "SENTINEL_DATA_DIR": str(dirs["sentinel"]),
            "SENTINEL_PRIMARY": f"127.0.0.1 {primary_port}",
        }
        sentinel_proc = start("redis-sentinel-1", ["sh", "-c", _script(config, "redis-sentinel-1")], **sentinel_env)
        sentinel = client(sentinel_port, password=SECRETS["REDIS_SENTINEL_CLIENT_PASSWORD"])

        def sentinel_state() -> dict[str, Any]:
            return cast(dict[str, Any], sentinel.sentinel_master("kabar-cluster"))

        wait_until(lambda: int(sentinel_state()["num-slaves"]) == 1, timeout=30, what="sentinel sees the replica")
        state = sentinel_state()
        assert state["port"] == primary_port and not state["is_sdown"] and not state["is_odown"]
        assert (dirs["sentinel"] / "sentinel.conf").stat().st_mode & 0o077 == 0
        # The Sentinel answers only with its password; its health check (on this port) passes with it.
        with pytest.raises((AuthenticationError, ResponseError)):
            client(sentinel_port).sentinel_master("kabar-cluster")
        health = config["services"]["redis-sentinel-1"]["healthcheck"]["test"]
        assert health[0] == "CMD-SHELL"
        check = health[1].replace("$$", "$").replace("-p 26379", f"-p {sentinel_port}")
        service_env = {k: str(v) for k, v in config["services"]["redis-sentinel-1"]["environment"].items()}
        assert subprocess.run(["sh", "-c", check], env={**base_env, **service_env}, check=False).returncode == 0
        wrong = {**service_env, "REDIS_SENTINEL_CLIENT_PASSWORD": "wrong"}
        assert subprocess.run(["sh", "-c", check], env={**base_env, **wrong}, check=False).returncode != 0
        # A Kabar service finds the primary through the Sentinel, with the settings the override gives it.
        publish_env = config["services"]["publish"]["environment"]
        settings = KabarSettings(
            redis_url=f"redis://worker:{SECRETS['REDIS_WORKER_PASSWORD']}@unused:6379/0",
            redis_sentinels=f"127.0.0.1:{sentinel_port}",
            redis_sentinel_master="kabar-cluster",
            redis_sentinel_password=publish_env["KABAR_REDIS_SENTINEL_PASSWORD"],
        )
        kabar = redis_client(settings, socket_timeout=5)
        clients.append(kabar)
        assert kabar.get("clustertest:k") == b"v"
        # Hashes only in the ACL files; no password on any of the processes' command lines.
        for node in ("primary", "replica"):
            acl = (dirs[node] / "kabar-users.acl").read_text()
            assert "user replication on #" in acl and "user sentinel on #" in acl
            assert not any(value in acl for value in SECRETS.values())
        for proc in procs:
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().decode(errors="replace")
            assert not any(value in cmdline for value in SECRETS.values()), cmdline
        # Restarted with a new password (.env changed), the Sentinel takes it, though it rewrote its file.
        sentinel_proc.terminate()
        sentinel_proc.wait(timeout=10)
        start(
            "redis-sentinel-1",
            ["sh", "-c", _script(config, "redis-sentinel-1")],
            **sentinel_env,
            REDIS_SENTINEL_CLIENT_PASSWORD="a-new-sentinel-password",
        )
        renewed = client(sentinel_port, password="a-new-sentinel-password")
        wait_until(lambda: renewed.sentinel_master("kabar-cluster"), timeout=20, what="sentinel with its new password")
        with pytest.raises((AuthenticationError, ResponseError)):
            client(sentinel_port, password=SECRETS["REDIS_SENTINEL_CLIENT_PASSWORD"]).ping()
    finally:
        for c in clients:
            c.close()
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_start_sh_adds_the_cluster_users_only_when_their_passwords_are_given(tmp_path: Path) -> None:
    """deploy/redis/start.sh as the single node runs it (no replication or Sentinel password) writes only the
    services' users and no masterauth; a replica without the replication password is refused."""
    stub_dir = tmp_path / "bin"
    stub_dir.mkdir()
    report = tmp_path / "argv.json"
    stub = stub_dir / "redis-server"
    stub.write_text(f"#!/usr/bin/env python3\nimport json, sys\njson.dump(sys.argv[1:], open({str(report)!r}, 'w'))\n")
    stub.chmod(0o755)
    env = {
        "PATH": f"{stub_dir}:{os.environ['PATH']}",
        "KABAR_REDIS_RUN_DIR": str(tmp_path),
        **{f"REDIS_{user}_PASSWORD": f"pw-{user}" for user in ("INGEST", "WORKER", "PUBLISH")},
    }
    start = ["sh", str(ROOT / "deploy" / "redis" / "start.sh")]
    assert subprocess.run(start, env=env, check=False).returncode == 0
    acl = (tmp_path / "kabar-users.acl").read_text()
    assert re.findall(r"^user (\w+)", acl, re.M) == ["default", "ingest", "worker", "publish"]
    argv = json.loads(report.read_text())
    assert "--include" not in argv and "--replicaof" not in argv and not (tmp_path / "kabar-replication.conf").exists()
    out = subprocess.run(
        start, env={**env, "KABAR_REDIS_REPLICA_OF": "redis 6379"}, capture_output=True, text=True, check=False
    )
    assert out.returncode != 0 and "REDIS_REPLICATION_PASSWORD" in out.stderr
    # With both: the two users, masterauth in a file (mode 600) Redis includes, and the replica's options.
    both = {**env, "REDIS_REPLICATION_PASSWORD": "pw-repl", "REDIS_SENTINEL_PASSWORD": "pw-sent"}
    replica = {**both, "KABAR_REDIS_REPLICA_OF": "redis 6379", "REDIS_HOST": "redis-replica"}
    assert subprocess.run(start, env=replica, check=False).returncode == 0
    acl = (tmp_path / "kabar-users.acl").read_text()
    assert re.findall(r"^user (\w+)", acl, re.M) == [
        "default",
        "ingest",
        "worker",
        "publish",
        "replication",
        "sentinel",
    ]
    conf = tmp_path / "kabar-replication.conf"
    assert conf.read_text() == "masteruser replication\nmasterauth pw-repl\n"
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    argv = json.loads(report.read_text())
    joined = " ".join(argv)
    assert "--replicaof redis 6379" in joined and "--replica-announce-ip redis-replica" in joined
    assert f"--include {conf}" in joined and not any("pw-" in arg for arg in argv)


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
