"""Start Kabar's own processes (uvicorn apps, Celery workers) against real services: one command line each."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from shared.messaging import Queues

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / ".local" / "test-logs"
# Where a process finds the services: the caller's, when set; nothing else of the caller's KABAR_* leaks.
SERVICE_URLS = ("KABAR_ES_URL", "KABAR_BROKER_URL", "KABAR_REDIS_URL")


# Ports handed to test processes come from below the kernel's ephemeral range (32768-60999 on Linux), so no
# outgoing connection can take one between free_port() and the child's bind, and above the fixed ports of
# services.sh and the local cluster (the highest, Sentinel, is 26393). Each is handed out once a session:
# binding port 0 and closing it let two processes started side by side get the same port, and one of them
# died with "address already in use" after another process had answered its readiness check.
_PORT_RANGE = range(27000, 32700)
_ports_lock = threading.Lock()
_ports_given: dict[int, None] = {}  # in the order handed out


def free_port() -> int:
    """A TCP port free on loopback now, outside the ephemeral range and not handed out before this session."""
    with _ports_lock:
        if len(_ports_given) >= len(_PORT_RANGE) // 2:  # a long session: the oldest are long bound or closed
            for old in list(_ports_given)[: len(_ports_given) // 2]:
                del _ports_given[old]
        start = random.randrange(len(_PORT_RANGE))
        for offset in range(len(_PORT_RANGE)):
            port = _PORT_RANGE[(start + offset) % len(_PORT_RANGE)]
            if port in _ports_given:
                continue
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _ports_given[port] = None
            return port
    raise RuntimeError(f"no free port in {_PORT_RANGE}")


def wait_until(check: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.1, what: str = "") -> Any:
    """Poll until check() returns something truthy and return it; raise with `what` on timeout."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:
            last_exc = exc
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what or check}: {last_exc!r}")


def kabar_env(prefix: str, **overrides: str) -> dict[str, str]:
    """Environment for a Kabar process on its own prefix: the caller's service URLs, no other KABAR_* setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABAR_") or k in SERVICE_URLS}
    env.update({"KABAR_PREFIX": prefix, "PYTHONUNBUFFERED": "1", **overrides})
    return env


@dataclass
class Proc:
    """A child process in its own process group with its log file; stopped with SIGTERM, then SIGKILL."""

    name: str
    args: list[str]
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)

    def start(self) -> Proc:
        if self.log_path == Path():
            self.log_path = LOG_DIR / f"{self.name}-{os.getpid()}-{time.time_ns()}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.popen = subprocess.Popen(
                self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
            )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a Celery worker's or uvicorn's children included)."""
        if self.alive():
            os.killpg(self.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-n:])

    def wait_ready(self, ready: Callable[[], bool], *, timeout: float, what: str) -> Proc:
        """Wait until ready() holds; fail at once, with the log's tail, if the process exits first."""

        def check() -> bool:
            if not self.alive():
                raise RuntimeError(f"{self.name} exited:\n{self.tail()}")
            return ready()

        wait_until(check, timeout=timeout, what=what)
        return self


def api_command(factory: str, *, port: int, workers: int = 1, log_level: str = "warning") -> list[str]:
    """uvicorn serving an app factory on loopback, as compose runs it (there with --workers 2 on 0.0.0.0)."""
    args = [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(port)]
    return [*args, "--workers", str(workers), "--no-access-log", "--log-level", log_level]


def worker_command(*, prefix: str, queues: Sequence[str], concurrency: int, node: str) -> list[str]:
    """The one Celery worker command line for local runs: compose's, plus three start-up flags.

    `queues` are the prefix's queue kinds ("index", "related", "notify", "comments"). Gossip, mingle and the event
    heartbeat are off: nothing here uses them (`kabar worker-health` pings over remote control,
    which stays on; nothing revokes tasks, which is what mingle syncs) and mingle delays every
    start. Compose keeps them for Flower, which shows workers from their heartbeats.
    """
    names = Queues(prefix)
    queue_names = ",".join(getattr(names, kind) for kind in queues)
    args = [sys.executable, "-m", "celery", "-A", "services.index.worker", "worker", "-Q", queue_names]
    args += ["-c", str(concurrency), "-l", "INFO", "-n", f"{node}@%h"]
    return [*args, "--without-gossip", "--without-mingle", "--without-heartbeat"]


def run_module(module: str, *args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`python -m module args` in the checkout to its end, output captured as text; the caller checks the exit code."""
    argv = [sys.executable, "-m", module, *args]
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


# Publish serves /metrics, /readyz and /docs on an operator port of its own: reader URL -> operator URL.
OPERATOR_URLS: dict[str, str] = {}


def operator_url(url: str) -> str:
    """Where an app started by start_api serves its operator endpoints (publish: its operator port)."""
    return OPERATOR_URLS.get(url, url)


def start_api(name: str, factory: str, env: dict[str, str]) -> tuple[Proc, str]:
    """One app on a free port, returned once its lifespan has run; publish gets a free operator port too."""
    port = free_port()
    if "services.publish" in factory:
        env = {"KABAR_PUBLISH_OPERATOR_PORT": str(free_port()), **env}
    proc = Proc(name, api_command(factory, port=port), env).start()
    url = f"http://127.0.0.1:{port}"
    if "services.publish" in factory:
        OPERATOR_URLS[url] = f"http://127.0.0.1:{env['KABAR_PUBLISH_OPERATOR_PORT']}"
    # Any answer will do: the lifespan has run.
    proc.wait_ready(lambda: httpx.get(f"{url}/healthz", timeout=1).status_code < 500, timeout=30, what=f"{name} up")
    return proc, url


def start_worker(
    env: dict[str, str],
    *,
    prefix: str,
    concurrency: int = 2,
    name: str = "worker",
    queues: Sequence[str] = ("index", "related", "notify", "comments"),
) -> Proc:
    """A worker on the prefix's queues (kinds), returned once Celery says it is ready."""
    node = f"{name}-{time.time_ns()}"  # unique: Celery warns about, and mixes up, two workers of one name
    proc = Proc(name, worker_command(prefix=prefix, queues=queues, concurrency=concurrency, node=node), env).start()
    return proc.wait_ready(lambda: "ready." in proc.log(), timeout=60, what=f"{name} ready")
