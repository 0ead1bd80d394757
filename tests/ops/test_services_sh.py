"""scripts/services.sh with least privilege, checked on a PRIVATE stack (own ports, folders, Erlang node and
epmd), so it never touches the shared services other test runs use:

- every listening socket of Elasticsearch, Redis, RabbitMQ (beam.smp) and epmd is on loopback (`ss`);
- none of those processes runs as root;
- rabbitmqctl still works (the Erlang cookie belongs to the RabbitMQ user, who runs every CLI call);
- deleting indices needs their names (`action.destructive_requires_name: true`), and Kabar's cleanups
  resolve names first;
- `down` refuses a forged pid file: the process it names survives, and the real daemons still stop.

The tests share one stack and run in file order; the last one takes it down.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from shared.es import delete_matching_indices
from tests.stack import wait_until

ROOT = Path(__file__).resolve().parents[2]
SERVICES_SH = ROOT / "scripts" / "services.sh"
LOCAL = ROOT / ".local" / "ops-stack"

ES_PORT = 9260
RABBIT_PORT = 5690
RABBIT_DIST_PORT = 25690
EPMD_PORT = 4390
REDIS_PORT = 6395
PG_PORT = 5442
STACK_ENV = {
    "KABAR_LOCAL_DIR": str(LOCAL),
    "KABAR_ES_PORT": str(ES_PORT),
    "KABAR_RABBIT_PORT": str(RABBIT_PORT),
    "KABAR_RABBIT_DIST_PORT": str(RABBIT_DIST_PORT),
    "KABAR_EPMD_PORT": str(EPMD_PORT),
    "KABAR_REDIS_PORT": str(REDIS_PORT),
    "KABAR_PG_PORT": str(PG_PORT),
    # The test WordPress and its MariaDB have their own test (tests/ops/test_wordpress_service.py); here they
    # would only slow `down` past the test's waits on this 2-core machine.
    "KABAR_WORDPRESS": "off",
    "KABAR_RABBIT_NODE": "kabarops@localhost",
    "KABAR_ES_HEAP": "512m",
}
LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|\[::1\]|\[::ffff:127\.\d+\.\d+\.\d+\]):\d+$")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="services.sh creates users and runs daemons as them")


def services_sh(command: str, *, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run scripts/services.sh with the private stack's settings (never the shared stack's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_")}
    env.update(STACK_ENV)
    result = subprocess.run(
        ["bash", str(SERVICES_SH), command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"services.sh {command} failed ({result.returncode}):\n{result.stderr[-3000:]}"
    return result


def listeners() -> list[tuple[str, int, str]]:
    """(local address, pid, process name) of every listening TCP socket on the machine."""
    out = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        fields = line.split()
        local = fields[3]
        for name, pid in re.findall(r'\("([^"]+)",pid=(\d+)', line):
            rows.append((local, int(pid), name))
    return rows


def pids_on_port(port: int) -> set[int]:
    return {pid for local, pid, _ in listeners() if local.rsplit(":", 1)[1] == str(port)}


def uid_of(pid: int) -> tuple[int, int]:
    """Real and effective uid of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            real, effective = line.split()[1:3]
            return int(real), int(effective)
    raise AssertionError(f"no Uid line for pid {pid}")


def comm_of(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, int]]:
    """The private stack, up; maps each daemon to its pid (found by the port it serves)."""
    try:
        services_sh("up")
        daemons = {}
        for name, port in {
            "elasticsearch": ES_PORT,
            "redis": REDIS_PORT,
            "rabbitmq": RABBIT_PORT,
            "rabbitmq-dist": RABBIT_DIST_PORT,
            "epmd": EPMD_PORT,
            "postgres": PG_PORT,
        }.items():
            pids = pids_on_port(port)
            assert len(pids) == 1, f"{name}: expected one process on port {port}, got {pids}"
            daemons[name] = pids.pop()
        assert daemons["rabbitmq"] == daemons["rabbitmq-dist"], "AMQP and distribution are the same beam.smp"
        yield daemons
    finally:
        with contextlib.suppress(Exception):
            services_sh("down", timeout=300)


def test_every_daemon_listens_on_loopback_only(stack: dict[str, int]) -> None:
    pids = set(stack.values())
    mine = [(local, pid, name) for local, pid, name in listeners() if pid in pids]
    # Elasticsearch HTTP and transport, Redis, AMQP, Erlang distribution, epmd (IPv4 and IPv6), PostgreSQL.
    assert len(mine) >= 7, mine
    exposed = [row for row in mine if not LOOPBACK.match(row[0])]
    assert not exposed, f"listening beyond loopback: {exposed}"


def test_no_daemon_runs_as_root(stack: dict[str, int]) -> None:
    expected = {
        "elasticsearch": ("java", "kabar-es"),
        "redis": ("redis-server", "kabar-redis"),
        "rabbitmq": ("beam.smp", "kabar-rabbit"),
        "epmd": ("epmd", "kabar-rabbit"),
        "postgres": ("postgres", "kabar-pg"),
    }
    for daemon, (comm, user) in expected.items():
        pid = stack[daemon]
        assert comm_of(pid) == comm, (daemon, comm_of(pid))
        uid = int(subprocess.run(["id", "-u", user], capture_output=True, text=True, check=True).stdout)
        assert uid != 0
        assert uid_of(pid) == (uid, uid), f"{daemon} (pid {pid}) runs as uid {uid_of(pid)}, not {user}"


def test_rabbitmqctl_works_and_the_cookie_is_private(stack: dict[str, int]) -> None:
    assert "rabbitmq: up" in services_sh("status").stdout
    cookie = LOCAL / "rabbitmq" / ".erlang.cookie"
    st = cookie.stat()
    assert st.st_mode & 0o077 == 0, oct(st.st_mode)
    assert st.st_uid == uid_of(stack["rabbitmq"])[0]


def test_deleting_indices_needs_their_names(stack: dict[str, int]) -> None:
    """A wildcard delete is refused; Kabar's own cleanups resolve the names first and still work."""
    url = f"http://127.0.0.1:{ES_PORT}"
    prefix = f"opstest-{time.time_ns()}"
    for suffix in ("a", "b"):
        created = httpx.put(f"{url}/{prefix}-{suffix}", json={"settings": {"number_of_replicas": 0}}, timeout=30)
        assert created.status_code == 200, created.text
    es = Elasticsearch(url)
    try:
        wildcard = httpx.delete(f"{url}/{prefix}-*", timeout=30)
        assert wildcard.status_code == 400, wildcard.text
        assert "wildcard" in wildcard.text.lower()
        assert httpx.head(f"{url}/{prefix}-a", timeout=30).status_code == 200
        assert delete_matching_indices(es, f"{prefix}-*") == [f"{prefix}-a", f"{prefix}-b"]
        assert httpx.head(f"{url}/{prefix}-a", timeout=30).status_code == 404
        assert delete_matching_indices(es, f"{prefix}-*") == []
    finally:
        es.close()


def test_down_refuses_forged_pid_files_and_still_stops_the_stack(stack: dict[str, int]) -> None:
    """Runs last: takes the stack down."""
    run = LOCAL / "run"
    # A root process, and one of the Redis user's that is not Redis: neither may be signalled.
    bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
    impostor = subprocess.Popen(
        ["setpriv", "--reuid=kabar-redis", "--regid=kabar-redis", "--init-groups", "sleep", "300"],
        start_new_session=True,
    )
    try:
        wait_until(lambda: comm_of(impostor.pid) == "sleep", timeout=10, what="impostor sleep")
        # What a compromised daemon user could write into the pid files it owns.
        (run / "elasticsearch.pid").write_text(f"{bystander.pid}\n")
        (run / "redis.pid").write_text(f"{impostor.pid}\n")
        result = services_sh("down", timeout=300)
        assert "refusing pid file" in result.stderr, result.stderr
        assert alive(bystander.pid) and bystander.poll() is None, result.stderr
        assert alive(impostor.pid) and impostor.poll() is None, result.stderr
        # The real daemons were found by owner and command line, and stopped all the same.
        for daemon, pid in stack.items():
            try:
                wait_until(lambda pid=pid: not alive(pid), timeout=60, what=f"{daemon} (pid {pid}) stopped")
            except TimeoutError as exc:
                raise AssertionError(f"{exc}\nservices.sh down said:\n{result.stderr[-3000:]}") from None
    finally:
        for proc in (bystander, impostor):
            proc.kill()
            proc.wait(timeout=10)
