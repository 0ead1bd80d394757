"""A Varnish edge (deploy/varnish/kabar.vcl) in front of a publish and an ingest on loopback, for tests and benches.

Each call runs its own varnishd in the foreground (a Proc: its own process group, stopped with it) on a
free port, with its own working folder, so it never touches the demo's edge on 6081. As root it runs as
the unprivileged user scripts/services.sh creates (kabar-varnish), as the demo's does.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from harness.procs import ROOT, Proc, free_port, start_worker

VCL_DIR = ROOT / "deploy" / "varnish"
EDGE_USER = "kabar-varnish"


def write_config(folder: Path, *, publish_port: int, ingest_port: int) -> Path:
    """kabar.vcl and a loopback kabar-backends.vcl in `folder`; returns the main file."""
    template = (VCL_DIR / "local-backends.vcl.in").read_text()
    backends = template.replace("@PUBLISH_PORT@", str(publish_port)).replace("@INGEST_PORT@", str(ingest_port))
    (folder / "kabar-backends.vcl").write_text(backends)
    shutil.copy(VCL_DIR / "kabar.vcl", folder / "kabar.vcl")
    return folder / "kabar.vcl"


def _port(url: str) -> int:
    port = urlparse(url).port
    assert port is not None, f"no port in {url}"
    return port


def edge_command(*, conf: Path, workdir: Path, port: int, memory: str = "128m") -> list[str]:
    """varnishd in the foreground on loopback: no admin port, no jail (it runs as one unprivileged user)."""
    args = ["varnishd", "-F", "-j", "none", "-n", str(workdir), "-a", f"127.0.0.1:{port}", "-T", "none"]
    args += ["-p", f"vcl_path={conf.parent}", "-f", str(conf), "-s", f"malloc,{memory}"]
    if os.geteuid() == 0:
        # Never as root: the user services.sh creates, with every capability dropped.
        pwd.getpwnam(EDGE_USER)  # KeyError: run `scripts/services.sh install` first
        drop = ["setpriv", f"--reuid={EDGE_USER}", f"--regid={EDGE_USER}", "--init-groups", "--inh-caps=-all"]
        args = [*drop, *args]
    return args


def start_edge(
    *, publish_url: str, ingest_url: str | None = None, env: dict[str, str] | None = None
) -> tuple[Proc, str]:
    """An edge for these apps, returned once Varnish answers; stop it with proc.stop()."""
    folder = Path(tempfile.mkdtemp(prefix="kabar-edge-"))
    folder.chmod(0o755)  # the VCL compiler reads it as the edge's user
    workdir = folder / "work"
    workdir.mkdir()
    if os.geteuid() == 0:
        entry = pwd.getpwnam(EDGE_USER)
        os.chown(workdir, entry.pw_uid, entry.pw_gid)
    conf = write_config(
        folder, publish_port=_port(publish_url), ingest_port=_port(ingest_url) if ingest_url else free_port()
    )
    port = free_port()
    proc = Proc("edge", edge_command(conf=conf, workdir=workdir, port=port), env or dict(os.environ)).start()
    url = f"http://127.0.0.1:{port}"
    proc.wait_ready(
        lambda: httpx.get(f"{url}/.edge/health", timeout=1).status_code == 200, timeout=60, what="varnish up"
    )
    return proc, url


def start_purging_workers(env: dict[str, str], *, prefix: str, edge_urls: list[str]) -> list[Proc]:
    """An index worker and a one-process related worker (as deployed) that purge these edges on every change."""
    purging = {**env, "KABAR_EDGE_URLS": ",".join(edge_urls)}
    return [
        start_worker({**purging, "KABAR_WORKER_METRICS_PORT": str(free_port())}, prefix=prefix, queues=("index",)),
        start_worker(
            {**purging, "KABAR_WORKER_METRICS_PORT": str(free_port())},
            prefix=prefix,
            queues=("related",),
            name="worker-related",
            concurrency=1,
        ),
    ]


def path_of(state: dict[str, Any]) -> str:
    """The reader path of a published article, from the public URL in its newsroom state."""
    return "/" + str(state["url"]).split("://", 1)[1].split("/", 1)[1]
