"""Open-loop load: requests sent on a fixed schedule whatever the server does, latency from the intended send time.

A closed-loop client (N loops, each waiting for its answer) sends less when the server slows down, so the
slow moments are under-sampled and the percentiles flatter the server (coordinated omission). Here request
k is due at a fixed time; its latency runs from then, so a request the driver could only send late (the
server, the connection pool or the driver itself being behind) carries that wait too.

Two drivers make the same Outcomes:
- vegeta (Go, built by scripts/setup.sh into .local/bin): a constant pacer that starts more workers when
  all are busy; it times from the actual send, so the send lag is added back here from its sequence numbers.
- a Python driver (asyncio + aiohttp), used when vegeta is missing: fine up to a few hundred requests per
  second on these 2 cores; above that the driver itself falls behind, which shows as send lag and
  unsent requests, never as a better figure.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from harness.results import percentile

ROOT = Path(__file__).resolve().parents[1]
# Answers that count as errors: transport failures (code 0) and 4xx/5xx, as vegeta counts them.
ERROR_FROM = 400
# A run is valid only when the driver sent nearly every scheduled request (a driver behind at the very end
# leaves the last few unsent) and nearly nothing failed.
MAX_UNSENT_SHARE = 0.01
MAX_ERROR_SHARE = 0.001
# A baseline that answered less than this share of its rate is saturated: no ratio is taken against it.
SATURATED_SHARE = 0.9


@dataclass(frozen=True)
class Target:
    """One request to send: method, absolute URL, optional body and headers."""

    method: str
    url: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """One sent request, in seconds since the attack began: when it was due, sent and answered."""

    seq: int
    intended: float
    started: float
    ended: float
    status: int
    error: str = ""

    @property
    def latency_ms(self) -> float:
        """From the intended send time: what a reader arriving on schedule waited."""
        return (self.ended - self.intended) * 1000

    @property
    def service_ms(self) -> float:
        """From the actual send: what a closed-loop tool would report."""
        return (self.ended - self.started) * 1000

    @property
    def failed(self) -> bool:
        return bool(self.error) or self.status == 0 or self.status >= ERROR_FROM


@dataclass(frozen=True)
class Run:
    """What one attack at one rate produced."""

    rate: float
    seconds: float
    outcomes: list[Outcome]
    driver: str

    @property
    def scheduled(self) -> int:
        return scheduled_count(self.rate, self.seconds)


def scheduled_count(rate: float, seconds: float) -> int:
    """How many requests a constant `rate` schedules in `seconds`."""
    return max(1, math.floor(rate * seconds + 1e-9))


def schedule(rate: float, seconds: float) -> list[float]:
    """Intended send times (seconds from the start) at a constant rate: request k at (k + 1) / rate, as vegeta."""
    if rate <= 0 or seconds <= 0:
        raise ValueError("rate and seconds must be positive")
    return [(k + 1) / rate for k in range(scheduled_count(rate, seconds))]


# ---- statistics and verdicts --------------------------------------------------------------------


def stats(run: Run) -> dict[str, Any]:
    """p50/p99/p99.9 from the intended send time, the same from the actual send, errors, unsent and send lag."""
    done = run.outcomes
    latencies = [o.latency_ms for o in done]
    service = [o.service_ms for o in done]
    lag = [(o.started - o.intended) * 1000 for o in done]
    errors = sum(o.failed for o in done)
    codes: dict[str, int] = {}
    for o in done:
        key = str(o.status) if not o.error or o.status else "transport"
        codes[key] = codes.get(key, 0) + 1
    span = max((o.ended for o in done), default=0.0)
    return {
        "rate": run.rate,
        "seconds": run.seconds,
        "driver": run.driver,
        "scheduled": run.scheduled,
        "sent": len(done),
        "unsent": max(0, run.scheduled - len(done)),
        "errors": errors,
        "codes": codes,
        "p50_ms": _round(percentile(latencies, 50)),
        "p99_ms": _round(percentile(latencies, 99)),
        "p999_ms": _round(percentile(latencies, 99.9)),
        "max_ms": _round(max(latencies, default=math.nan)),
        "service_p99_ms": _round(percentile(service, 99)),
        "send_lag_p99_ms": _round(percentile(lag, 99)),
        "achieved_rps": round(len(done) / span, 1) if span > 0 else None,
    }


def _round(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 2)


def valid(row: dict[str, Any]) -> str:
    """Why a run's percentiles cannot be trusted against a target ('' when they can)."""
    if not row.get("sent"):
        return "nothing sent"
    if row["unsent"] > MAX_UNSENT_SHARE * row["scheduled"]:
        return f"driver sent {row['sent']} of {row['scheduled']}"
    if row["errors"] > MAX_ERROR_SHARE * row["sent"]:
        return f"{row['errors']} errors of {row['sent']}"
    return ""


def verdict_below(row: dict[str, Any] | None, limit_ms: float, metric: str = "p99_ms") -> tuple[str, str]:
    """'met' when the run is valid and its `metric` is under `limit_ms`; 'MISSED' otherwise, with the reason."""
    if row is None or row.get(metric) is None:
        return "n/a", "not measured"
    problem = valid(row)
    if problem:
        return "MISSED", problem
    value = float(row[metric])
    return ("met", f"{value} < {limit_ms} ms") if value < limit_ms else ("MISSED", f"{value} >= {limit_ms} ms")


def verdict_ratio(row: dict[str, Any] | None, base: dict[str, Any] | None, max_ratio: float) -> tuple[str, str]:
    """'met' when both runs are valid and row's p99 is at most `max_ratio` times the baseline's."""
    if row is None or base is None or row.get("p99_ms") is None or not base.get("p99_ms"):
        return "n/a", "not measured"
    for name, r in (("kabar", row), ("baseline", base)):
        problem = valid(r)
        if problem:
            return "MISSED", f"{name}: {problem}"
    served, rate = base.get("achieved_rps"), base.get("rate")
    if served and rate and served < SATURATED_SHARE * rate:
        # Past its capacity the baseline's p99 is its queue's length at the end of the run, not a latency.
        return "n/a", f"baseline saturated: served {served}/s of {rate}/s"
    ratio = float(row["p99_ms"]) / float(base["p99_ms"])
    note = f"{ratio:.2f}x ({row['p99_ms']} vs {base['p99_ms']} ms)"
    return ("met" if ratio <= max_ratio else "MISSED"), note


# ---- vegeta -------------------------------------------------------------------------------------


def vegeta_binary() -> str | None:
    """The vegeta scripts/setup.sh built (newest version under .local/bin), else one on PATH, else None."""
    if os.environ.get("KABAR_BENCH_DRIVER") == "python":
        return None
    built = sorted((ROOT / ".local" / "bin").glob("vegeta-v*"))
    if built and os.access(built[-1], os.X_OK):
        return str(built[-1])
    return shutil.which("vegeta")


def vegeta_targets(targets: Iterable[Target]) -> str:
    """vegeta's JSON target format: one object a line, the body base64, headers as lists."""
    lines = []
    for t in targets:
        obj: dict[str, Any] = {"method": t.method, "url": t.url}
        if t.body is not None:
            obj["body"] = base64.b64encode(t.body).decode()
        if t.headers:
            obj["header"] = {k: [v] for k, v in t.headers.items()}
        lines.append(json.dumps(obj))
    return "\n".join(lines) + "\n"


def vegeta_attack_args(binary: str, *, rate: int, seconds: float, targets_file: str, output: str) -> list[str]:
    """The attack command: constant rate, response bodies not kept, more workers whenever all are busy."""
    return [
        binary, "attack", "-format=json", f"-targets={targets_file}", f"-rate={rate}/1s",
        f"-duration={seconds:g}s", "-timeout=10s", "-max-body=0", f"-workers={max(10, rate // 50)}",
        "-http2=false", f"-output={output}",
    ]  # fmt: skip


def parse_vegeta_csv(lines: Iterable[str], rate: float) -> list[Outcome]:
    """Outcomes from `vegeta encode -to csv`, with the send lag vegeta leaves out added back.

    Columns: timestamp (unix ns, the actual send), code, latency (ns from the actual send), bytes out,
    bytes in, error, body, attack, seq, method, url, headers. vegeta's pacer makes request `seq` due at
    (seq + 1) / rate after the attack began; the attack's start is not in the output, so it is taken as the
    earliest (send time - due offset), which puts the least delayed request's lag at zero and keeps every
    lag >= 0 (a uniform delay of the whole attack is not counted, which errs on vegeta's side).
    """
    raw = []
    for row in csv.reader(lines):
        if len(row) < 9:
            continue
        ts_ns, code, latency_ns, error, seq = int(row[0]), int(row[1]), int(row[2]), row[5], int(row[8])
        raw.append((seq, ts_ns, latency_ns, code, error))
    if not raw:
        return []
    first_ns = min(ts for _, ts, *_ in raw)  # seconds from here on: unix nanoseconds do not fit a float's digits
    began = min((ts - first_ns) / 1e9 - (seq + 1) / rate for seq, ts, *_ in raw)
    out = []
    for seq, ts, latency_ns, code, error in sorted(raw):
        started = (ts - first_ns) / 1e9 - began
        intended = (seq + 1) / rate
        out.append(Outcome(seq, intended, started, started + latency_ns / 1e9, code, error))
    return out


def run_vegeta(binary: str, targets: Sequence[Target], *, rate: int, seconds: float) -> Run:
    """One vegeta attack over `targets` (cycled in order) at `rate` for `seconds`."""
    with tempfile.TemporaryDirectory(prefix="kabar-vegeta-") as tmp:
        tfile, out = Path(tmp) / "targets.jsonl", Path(tmp) / "results.bin"
        tfile.write_text(vegeta_targets(targets))
        args = vegeta_attack_args(binary, rate=rate, seconds=seconds, targets_file=str(tfile), output=str(out))
        subprocess.run(args, check=True, timeout=seconds + 60, capture_output=True)
        encoded = subprocess.run(
            [binary, "encode", "-to=csv", str(out)], check=True, timeout=120, capture_output=True, text=True
        ).stdout
    return Run(rate, seconds, parse_vegeta_csv(encoded.splitlines(), rate), "vegeta")


# ---- the Python driver --------------------------------------------------------------------------


async def run_python(
    targets: Sequence[Target], *, rate: float, seconds: float, max_connections: int = 512, request_seconds: float = 10.0
) -> Run:
    """Send targets[k % len] at schedule(rate, seconds)[k] whatever earlier requests are doing; time from then.

    Requests are never skipped to catch up: one the driver starts late keeps its due time, so the lag is
    in its latency. As with vegeta, sending stops once `seconds` have passed; what is still due then is unsent.
    aiohttp, not httpx: httpx's pool fell seconds behind at 200 requests/s where aiohttp kept up.
    """
    due = schedule(rate, seconds)
    outcomes: list[Outcome] = []
    connector = aiohttp.TCPConnector(limit=max_connections)
    per_request = aiohttp.ClientTimeout(total=request_seconds)
    async with aiohttp.ClientSession(connector=connector, timeout=per_request) as session:
        began = time.perf_counter()

        async def one(seq: int, target: Target, intended: float) -> None:
            started = time.perf_counter() - began
            status, error = 0, ""
            try:
                async with session.request(target.method, target.url, data=target.body, headers=target.headers) as resp:
                    await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = type(exc).__name__
            outcomes.append(Outcome(seq, intended, started, time.perf_counter() - began, status, error))

        tasks = []
        for seq, intended in enumerate(due):
            now = time.perf_counter() - began
            if now > seconds:
                break  # as vegeta: what is still due when the attack's time is over stays unsent
            if intended > now:
                await asyncio.sleep(intended - now)
            tasks.append(asyncio.create_task(one(seq, targets[seq % len(targets)], intended)))
        await asyncio.gather(*tasks)
    return Run(rate, seconds, sorted(outcomes, key=lambda o: o.seq), "python")


def attack(targets: Sequence[Target], *, rate: int, seconds: float) -> Run:
    """One attack with vegeta when it is built, else with the Python driver."""
    binary = vegeta_binary()
    if binary:
        return run_vegeta(binary, targets, rate=rate, seconds=seconds)
    return asyncio.run(run_python(targets, rate=rate, seconds=seconds))


def driver_name() -> str:
    binary = vegeta_binary()
    return f"vegeta ({Path(binary).name})" if binary else "python (asyncio + aiohttp; vegeta not built)"
