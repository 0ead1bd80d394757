"""`kabar worker-health --this-host`: a worker container's health check with several worker containers. A broadcast
ping is answered by every worker on the broker, so without it a hung worker looks healthy as long as any other
worker anywhere answers for it."""

from __future__ import annotations

import argparse
import uuid

import pytest

from harness.procs import Proc, free_port, worker_command
from harness.stack import private_stack
from services import ops


def _health(monkeypatch: pytest.MonkeyPatch, hostname: str) -> int:
    monkeypatch.setattr(ops.socket, "gethostname", lambda: hostname)
    return ops._worker_health(argparse.Namespace(timeout=2.0, fail_on_dead_letters=False, this_host=True))


def test_only_a_worker_of_this_host_makes_it_healthy(monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = f"elsewhere-{uuid.uuid4().hex[:8]}"
    with private_stack("w") as stack:
        # A worker whose node name says it runs on another host (compose names them `index@%h`).
        args = worker_command(prefix=stack.prefix, queues=("notify",), concurrency=1, node="health")
        args[args.index("health@%h")] = f"health@{elsewhere}"
        env = {**stack.env, "KABAR_WORKER_METRICS_PORT": str(free_port())}
        worker = Proc("health-worker", args, env).start()
        stack.procs.append(worker)
        worker.wait_ready(lambda: "ready." in worker.log(), timeout=60, what="worker ready")

        assert f"health@{elsewhere}" in ops.worker_health(settings=stack.settings, timeout=2, host=elsewhere)
        assert _health(monkeypatch, elsewhere) == 0
        # On a host none of whose workers answers, unhealthy: the worker elsewhere does not answer for it.
        assert _health(monkeypatch, f"nowhere-{uuid.uuid4().hex[:8]}") == 1
