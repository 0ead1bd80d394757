"""scripts/services.sh's LOCAL CLUSTER (scripts/cluster.sh), on its fixed ports beside the single-node stack:

- `cluster-up` starts three Elasticsearch nodes in one cluster, three RabbitMQ nodes running as one cluster,
  and a Redis primary with a linked replica watched by three Sentinels that agree on it; a second run is a
  no-op;
- every daemon listens on loopback only and runs as its own unprivileged user;
- `cluster-env` prints the settings that point Kabar at every node;
- killing the Redis primary makes Sentinel promote the replica (within 30 s), and the old primary comes back
  as a replica; Elasticsearch and RabbitMQ nodes killed with -9 come back into their clusters.

The cluster is LEFT UP at the end (tests/cluster uses it; `cluster-up` is idempotent); `services.sh down`
(`make down`) stops it. Redis ends with 6391 as the primary again, the layout `cluster-env` prints.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kombu import Connection, Exchange, Queue
from redis import Redis

from harness.cluster import redis_primary_port, services_sh
from tests.stack import wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SH = ROOT / "scripts" / "services.sh"

ES_HTTP = (9201, 9202, 9203)
ES_TRANSPORT = (9301, 9302, 9303)
AMQP = (5701, 5702, 5703)
RABBIT_DIST = (25701, 25702, 25703)
EPMD = 4371
REDIS = (6391, 6392)
SENTINELS = (26391, 26392, 26393)
MASTER = "kabar-cluster"
EXPECTED_ENV = [
    "KABAR_ES_URL=http://127.0.0.1:9201,http://127.0.0.1:9202,http://127.0.0.1:9203",
    "KABAR_BROKER_URL=amqp://guest:guest@127.0.0.1:5701//;amqp://guest:guest@127.0.0.1:5702//;"
    "amqp://guest:guest@127.0.0.1:5703//",
    "KABAR_REDIS_URL=redis://127.0.0.1:6391/0",
    "KABAR_REDIS_SENTINELS=127.0.0.1:26391,127.0.0.1:26392,127.0.0.1:26393",
    "KABAR_REDIS_SENTINEL_MASTER=kabar-cluster",
    "KABAR_ES_REPLICAS=1",
    "KABAR_REDIS_WAIT_REPLICAS=1",
]
LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|\[::1\]|\[::ffff:127\.\d+\.\d+\.\d+\]):\d+$")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="services.sh creates users and runs daemons as them")


def redis(port: int) -> Redis:
    return Redis(host="127.0.0.1", port=port, socket_timeout=5, decode_responses=True)


def sentinel_primaries() -> set[tuple[str, int]]:
    seen = set()
    for port in SENTINELS:
        with redis(port) as sentinel:
            host, master_port = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
            seen.add((host, int(master_port)))
    return seen


def replica_linked(port: int, master: int) -> bool:
    with redis(port) as client:
        info = client.info("replication")
    return info["role"] == "slave" and info["master_port"] == master and info["master_link_status"] == "up"


def listeners() -> list[tuple[str, int, str]]:
    """(local address, pid, process name) of every listening TCP socket on the machine."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        local = line.split()[3]
        for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            rows.append((local, int(pid), name))
    return rows


def uid_of(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            real, effective = line.split()[1:3]
            return int(real), int(effective)
    raise AssertionError(f"no Uid line for pid {pid}")


def es_nodes(port: int = 9201) -> list[str]:
    rows = httpx.get(f"http://127.0.0.1:{port}/_cat/nodes?format=json&h=name", timeout=10).json()
    return sorted(row["name"] for row in rows)


def es_health(port: int = 9201) -> dict:
    result: dict = httpx.get(f"http://127.0.0.1:{port}/_cluster/health", timeout=10).json()
    return result


@pytest.fixture(scope="module")
def cluster() -> Iterator[float]:
    """The cluster, up (cold or warm); yields how long `cluster-up` took. Deliberately not taken down."""
    started = time.monotonic()
    services_sh("cluster-up")
    yield time.monotonic() - started


def test_three_elasticsearch_nodes_in_one_cluster(cluster: float) -> None:
    health = es_health()
    assert health["cluster_name"] == "kabar-cluster"
    assert health["number_of_nodes"] == 3 and health["number_of_data_nodes"] == 3
    assert health["status"] in {"green", "yellow"}
    for port in ES_HTTP:  # every node answers and sees the same three
        assert es_nodes(port) == ["kabar-c1", "kabar-c2", "kabar-c3"]
    # One replica per shard can be placed: an index with a replica goes green.
    index = f"clustertest-{uuid.uuid4().hex[:8]}"
    url = f"http://127.0.0.1:9201/{index}"
    created = httpx.put(url, json={"settings": {"number_of_shards": 3, "number_of_replicas": 1}}, timeout=30)
    assert created.status_code == 200, created.text
    try:
        green = httpx.get(
            f"http://127.0.0.1:9202/_cluster/health/{index}?wait_for_status=green&timeout=30s", timeout=40
        )
        assert green.json()["status"] == "green", green.text
    finally:
        httpx.delete(url, timeout=30)


def test_three_rabbitmq_nodes_running_as_one_cluster(cluster: float) -> None:
    status = services_sh("cluster-status", timeout=60).stdout
    for n in (1, 2, 3):
        assert f"rabbitmq kabar-c{n}@localhost 127.0.0.1:{5700 + n}: up (running in the cluster)" in status, status
    # A quorum queue declared through node 1 holds a message that node 3 delivers.
    name = f"clustertest-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name, queue_arguments={"x-queue-type": "quorum"})
    with Connection(f"amqp://guest:guest@127.0.0.1:{AMQP[0]}//") as first:
        producer = first.Producer()
        producer.publish({"n": 1}, exchange=queue.exchange, routing_key=name, declare=[queue], retry=True)
    try:
        with Connection(f"amqp://guest:guest@127.0.0.1:{AMQP[2]}//") as third:
            simple = third.SimpleQueue(queue)
            message = simple.get(timeout=10)
            assert message.payload == {"n": 1}
            message.ack()
            simple.close()
    finally:
        with Connection(f"amqp://guest:guest@127.0.0.1:{AMQP[0]}//") as first:
            queue.bind(first.default_channel).delete()


def test_redis_primary_replica_and_three_agreeing_sentinels(cluster: float) -> None:
    assert redis_primary_port() == 6391
    with redis(6391) as first:
        info = first.info("replication")
        assert info["role"] == "master" and info["connected_slaves"] == 1
        assert first.config_get("appendonly")["appendonly"] == "yes"
        assert first.config_get("appendfsync")["appendfsync"] == "everysec"
    assert replica_linked(6392, 6391)
    with redis(6392) as second:
        assert second.config_get("appendonly")["appendonly"] == "yes"
    assert sentinel_primaries() == {("127.0.0.1", 6391)}
    for port in SENTINELS:
        with redis(port) as sentinel:
            fields = {k: str(v) for k, v in sentinel.sentinel_master(MASTER).items()}
            assert fields["quorum"] == "2" and fields["down-after-milliseconds"] == "2000"
            assert fields["failover-timeout"] == "10000" and fields["parallel-syncs"] == "1"
            assert fields["num-other-sentinels"] == "2" and fields["num-slaves"] == "1"
            # Sentinels announce and see loopback addresses only.
            others = sentinel.sentinel_sentinels(MASTER)
            replicas = sentinel.sentinel_slaves(MASTER)
            assert len(others) == 2 and len(replicas) == 1
            for entry in [*others, *replicas]:
                assert entry["ip"] == "127.0.0.1", entry


def test_cluster_env_prints_the_settings_for_every_node(cluster: float) -> None:
    assert services_sh("cluster-env", timeout=30).stdout.splitlines() == EXPECTED_ENV


def test_every_daemon_listens_on_loopback_only_as_its_own_user(cluster: float) -> None:
    ports = {*ES_HTTP, *ES_TRANSPORT, *AMQP, *RABBIT_DIST, EPMD, *REDIS, *SENTINELS}
    users = {"java": "kabar-es", "beam.smp": "kabar-rabbit", "epmd": "kabar-rabbit", "redis-server": "kabar-redis"}
    mine = [(local, pid, name) for local, pid, name in listeners() if int(local.rsplit(":", 1)[1]) in ports]
    assert {int(local.rsplit(":", 1)[1]) for local, _, _ in mine} == ports, mine
    exposed = [row for row in mine if not LOOPBACK.match(row[0])]
    assert not exposed, f"listening beyond loopback: {exposed}"
    for local, pid, name in mine:
        uid = int(subprocess.run(["id", "-u", users[name]], capture_output=True, text=True, check=True).stdout)
        assert uid != 0 and uid_of(pid) == (uid, uid), f"{name} on {local} (pid {pid}) is not {users[name]}"


def test_cluster_up_again_is_a_quick_no_op(cluster: float) -> None:
    started = time.monotonic()
    result = services_sh("cluster-up")
    assert time.monotonic() - started < 30, result.stderr
    assert "already up" in result.stderr and "starting" not in result.stderr, result.stderr


def test_sentinel_promotes_the_replica_and_the_old_primary_returns_as_its_replica(cluster: float) -> None:
    old = redis_primary_port()
    new = next(port for port in REDIS if port != old)
    key = f"clustertest:{uuid.uuid4().hex}"
    with redis(old) as client:
        client.set(key, "kept")
        assert client.execute_command("WAIT", 1, 5000) == 1  # on the replica before the crash
    services_sh("cluster-stop-redis", str(old), timeout=60)
    started = time.monotonic()
    try:
        promoted = f"sentinel promotes 127.0.0.1:{new}"
        wait_until(lambda: redis_primary_port() == new, timeout=30, interval=0.5, what=promoted)
        promoted_after = time.monotonic() - started
        with redis(new) as client:
            assert client.info("replication")["role"] == "master"
            assert client.get(key) == "kept"
    finally:
        services_sh("cluster-start-redis", str(old), timeout=120)
    wait_until(lambda: replica_linked(old, new), timeout=30, what=f"127.0.0.1:{old} replicates {new}")
    wait_until(lambda: sentinel_primaries() == {("127.0.0.1", new)}, timeout=30, what="sentinels agree")
    with redis(old) as client:
        assert client.get(key) == "kept"
    print(f"sentinel promoted 127.0.0.1:{new} {promoted_after:.1f} s after 127.0.0.1:{old} was killed")
    restore_6391_as_primary()


def restore_6391_as_primary() -> None:
    """A planned failover back to 6391, so the cluster stays in the layout `cluster-env` prints."""
    if redis_primary_port() == 6391:
        return

    def failover() -> bool:
        with redis(SENTINELS[0]) as sentinel:
            try:
                return bool(sentinel.execute_command("SENTINEL", "FAILOVER", MASTER))
            except Exception:  # NOGOODSLAVE until the sentinels have seen the returned server as a replica
                return False

    wait_until(failover, timeout=60, interval=1, what="sentinel accepts a failover back to 6391")
    wait_until(lambda: redis_primary_port() == 6391, timeout=60, interval=0.5, what="6391 primary again")
    # cluster-up waits until every sentinel agrees and the demoted server replicates again.
    services_sh("cluster-up")
    assert replica_linked(6392, 6391)


def test_killed_elasticsearch_and_rabbitmq_nodes_rejoin(cluster: float) -> None:
    services_sh("cluster-kill-es", "3", timeout=60)
    wait_until(lambda: es_nodes() == ["kabar-c1", "kabar-c2"], timeout=60, what="the cluster drops kabar-c3")
    services_sh("cluster-start-es", "3")
    assert es_health()["number_of_nodes"] == 3
    assert es_nodes(9203) == ["kabar-c1", "kabar-c2", "kabar-c3"]

    services_sh("cluster-kill-rabbit", "3", timeout=60)
    assert "rabbitmq kabar-c3@localhost 127.0.0.1:5703: down" in services_sh("cluster-status", timeout=60).stdout
    services_sh("cluster-start-rabbit", "3")
    status = services_sh("cluster-status", timeout=60).stdout
    assert "rabbitmq kabar-c3@localhost 127.0.0.1:5703: up (running in the cluster)" in status, status
    with Connection(f"amqp://guest:guest@127.0.0.1:{AMQP[2]}//") as third:
        third.connect()


def test_down_stops_the_cluster_too() -> None:
    """`services.sh down` (what `make down` runs) calls cluster_down; not run here, the cluster stays up."""
    text = SERVICES_SH.read_text()
    body = text[text.index("cmd_down() {") :]
    body = body[: body.index("\n}\n")]
    assert "cluster_down" in body
    assert 'scripts/cluster.sh"' in text
