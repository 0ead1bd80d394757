"""Start Kabar's own processes (uvicorn apps, Celery workers) against the real services for tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
LOG_DIR = ROOT / ".local" / "test-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], object], *, timeout: float = 30.0, interval: float = 0.1, what: str = "") -> object:
    """Poll until check() returns something truthy; raise with `what` on timeout."""
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


@dataclass
class Proc:
    """A child process with its log file; stopped with SIGTERM, then SIGKILL."""

    name: str
    args: list[str]
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default_factory=Path)

    def start(self) -> Proc:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}-{os.getpid()}-{time.time_ns()}.log"
        log = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            self.args, env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a Celery worker's children included)."""
        if self.alive():
            assert self.popen is not None
            os.killpg(self.popen.pid, sig)

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

    def tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


# Publish serves /metrics, /readyz and /docs on an operator port of its own: reader URL -> operator URL.
OPERATOR_URLS: dict[str, str] = {}


def operator_url(url: str) -> str:
    """Where an app started by start_api serves its operator endpoints (publish: its operator port)."""
    return OPERATOR_URLS.get(url, url)


def start_api(name: str, factory: str, env: dict[str, str]) -> tuple[Proc, str]:
    port = free_port()
    if "services.publish" in factory:
        env = {"KABAR_PUBLISH_OPERATOR_PORT": str(free_port()), **env}
    proc = Proc(
        name,
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        env,
    ).start()
    url = f"http://127.0.0.1:{port}"
    if "services.publish" in factory:
        OPERATOR_URLS[url] = f"http://127.0.0.1:{env['KABAR_PUBLISH_OPERATOR_PORT']}"

    def up() -> bool:
        if not proc.alive():
            raise RuntimeError(f"{name} exited:\n{proc.tail()}")
        return httpx.get(f"{url}/healthz", timeout=1).status_code < 500  # any answer: the lifespan has run

    wait_until(up, timeout=30, what=f"{name} to listen")
    return proc, url


def start_worker(
    env: dict[str, str],
    *,
    prefix: str,
    concurrency: int = 2,
    name: str = "worker",
    queues: tuple[str, ...] = ("index", "related"),
) -> Proc:
    proc = Proc(
        name,
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "services.index.worker",
            "worker",
            "-Q",
            ",".join(f"{prefix}.{queue}" for queue in queues),
            "-c",
            str(concurrency),
            "-l",
            "INFO",
            "-n",
            f"{name}-{time.time_ns()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        env,
    ).start()

    def ready() -> bool:
        if not proc.alive():
            raise RuntimeError(f"worker exited:\n{proc.tail()}")
        return "ready." in proc.log_path.read_text(errors="replace")

    wait_until(ready, timeout=60, what="celery worker ready")
    return proc
