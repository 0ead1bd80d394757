"""bench.openloop: the arrival schedule, latency from the intended send time, percentiles, verdicts, vegeta's output."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import openloop
from bench.openloop import Outcome, Run, Target


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---- the schedule -------------------------------------------------------------------------------


def test_schedule_is_a_fixed_rate_whatever_happens() -> None:
    due = openloop.schedule(200, 3)
    assert len(due) == 600
    gaps = {round(b - a, 9) for a, b in itertools.pairwise(due)}
    assert gaps == {0.005}
    assert due[0] == pytest.approx(0.005) and due[-1] == pytest.approx(3.0)  # vegeta's pacer: k due at (k+1)/rate


def test_schedule_counts_and_refuses_nonsense() -> None:
    assert openloop.scheduled_count(2000, 0.5) == 1000
    assert openloop.scheduled_count(33, 1) == 33
    with pytest.raises(ValueError):
        openloop.schedule(0, 5)


# ---- coordinated omission -----------------------------------------------------------------------


def test_latency_runs_from_the_intended_send_time_not_the_actual_one() -> None:
    # Due at 1.0 s, sent 0.3 s late (the driver or the pool was behind), answered in 2 ms.
    late = Outcome(seq=99, intended=1.0, started=1.3, ended=1.302, status=200)
    assert late.latency_ms == pytest.approx(302)
    assert late.service_ms == pytest.approx(2)


class _Slow(BaseHTTPRequestHandler):
    delay = 0.2

    def do_GET(self) -> None:
        time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # socketserver's 5 would make a burst of connections wait on SYN retries
    daemon_threads = True


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = _Server(("127.0.0.1", _free_port()), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_python_driver_keeps_sending_on_schedule_while_answers_are_slow(slow_server: str) -> None:
    # 50 req/s for 1 s at 200 ms an answer: a closed loop with one client would send 5; open loop sends all 50.
    run = asyncio.run(openloop.run_python([Target("GET", slow_server + "/")], rate=50, seconds=1))
    stats = openloop.stats(run)
    assert stats["sent"] == 50 and stats["unsent"] == 0 and stats["errors"] == 0
    assert stats["send_lag_p99_ms"] < 100
    assert 190 < stats["p50_ms"] < 600


def test_python_driver_counts_its_own_stall_in_the_latency() -> None:
    # The event loop is blocked for 300 ms (as a busy driver would be): requests due meanwhile go out late.
    async def stalled() -> Run:
        async def stall() -> None:
            await asyncio.sleep(0.2)
            time.sleep(0.3)  # noqa: ASYNC251  (blocking the loop is the point: a driver that falls behind)

        server = _Server(("127.0.0.1", _free_port()), _Slow)
        _Slow.delay = 0.0
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/"
            blocker = asyncio.create_task(stall())
            run = await openloop.run_python([Target("GET", url)], rate=100, seconds=1)
            await blocker
            return run
        finally:
            _Slow.delay = 0.2
            server.shutdown()
            server.server_close()

    run = asyncio.run(stalled())
    late = [o for o in run.outcomes if o.started - o.intended > 0.15]
    assert late, "the stall delayed no request"
    # From the intended time they waited the stall; from the actual send (a closed loop's clock) they did not.
    assert max(o.latency_ms for o in late) > 200
    assert all(o.latency_ms - o.service_ms > 150 for o in late)
    assert openloop.stats(run)["p99_ms"] > 200


# ---- percentiles, errors and verdicts ------------------------------------------------------------


def _run(latencies_ms: list[float], *, rate: float = 1000, seconds: float = 1, status: int = 200) -> Run:
    outs = [
        Outcome(seq=i, intended=(i + 1) / rate, started=(i + 1) / rate, ended=(i + 1) / rate + ms / 1000, status=status)
        for i, ms in enumerate(latencies_ms)
    ]
    return Run(rate, seconds, outs, "test")


def test_stats_percentiles_from_the_intended_time() -> None:
    stats = openloop.stats(_run([float(ms) for ms in range(1, 1001)]))
    assert (stats["p50_ms"], stats["p99_ms"], stats["p999_ms"], stats["max_ms"]) == (500, 990, 999, 1000)
    assert stats["sent"] == stats["scheduled"] == 1000 and stats["unsent"] == 0 and stats["errors"] == 0


def test_stats_count_errors_and_unsent() -> None:
    run = _run([1.0] * 900)  # 1,000 scheduled, 900 sent
    outs = run.outcomes
    outs[0] = Outcome(0, 0.001, 0.001, 0.002, 503)
    outs[1] = Outcome(1, 0.002, 0.002, 0.003, 0, "ClientConnectorError")
    outs[2] = Outcome(2, 0.003, 0.003, 0.004, 302)  # a redirect is an answer, not an error
    stats = openloop.stats(Run(run.rate, run.seconds, outs, "test"))
    assert stats["unsent"] == 100 and stats["errors"] == 2
    assert stats["codes"] == {"200": 897, "503": 1, "transport": 1, "302": 1}


def test_verdict_below() -> None:
    fast = openloop.stats(_run([1.0] * 1000))
    slow = openloop.stats(_run([60.0] * 1000))
    assert openloop.verdict_below(fast, 10)[0] == "met"
    assert openloop.verdict_below(slow, 50) == ("MISSED", "60.0 >= 50 ms")
    assert openloop.verdict_below(None, 10)[0] == "n/a"


def test_a_fast_run_that_did_not_keep_the_rate_or_failed_is_missed() -> None:
    short = openloop.stats(_run([1.0] * 900))  # the driver sent 900 of 1,000
    assert openloop.verdict_below(short, 10) == ("MISSED", "driver sent 900 of 1000")
    failing = openloop.stats(_run([1.0] * 1000, status=503))  # fast 503s are no success
    verdict, note = openloop.verdict_below(failing, 10)
    assert verdict == "MISSED" and "errors" in note


def test_verdict_ratio_at_the_limit() -> None:
    base = openloop.stats(_run([10.0] * 1000))
    assert openloop.verdict_ratio(openloop.stats(_run([12.0] * 1000)), base, 1.2)[0] == "met"
    verdict, note = openloop.verdict_ratio(openloop.stats(_run([12.5] * 1000)), base, 1.2)
    assert verdict == "MISSED" and note.startswith("1.25x")
    assert openloop.verdict_ratio(None, base, 1.2)[0] == "n/a"
    short_base = openloop.stats(_run([10.0] * 500))
    assert openloop.verdict_ratio(base, short_base, 1.2)[0] == "MISSED"


# ---- vegeta -------------------------------------------------------------------------------------


def _csv_row(ts_ns: int, code: int, latency_ns: int, seq: int, error: str = "") -> str:
    # Columns as vegeta's NewCSVEncoder writes them.
    return f"{ts_ns},{code},{latency_ns},0,2,{error},,,{seq},GET,http://x/,"


def test_parse_vegeta_adds_back_the_send_lag_it_leaves_out() -> None:
    rate = 100  # due every 10 ms: seq k at (k + 1) * 10 ms after the attack began
    began = 1_700_000_000_000_000_000
    lines = [_csv_row(began + (k + 1) * 10_000_000, 200, 1_000_000, k) for k in range(10)]
    # seq 5 went out 250 ms late (every worker was busy) and took 1 ms once sent.
    lines[5] = _csv_row(began + 6 * 10_000_000 + 250_000_000, 200, 1_000_000, 5)
    lines.append(_csv_row(began + 11 * 10_000_000, 0, 10_000_000_000, 10, "Get: timeout"))
    outs = openloop.parse_vegeta_csv(reversed(lines), rate)  # order of the file does not matter
    assert [o.seq for o in outs] == list(range(11))
    assert outs[0].latency_ms == pytest.approx(1)
    assert outs[5].service_ms == pytest.approx(1)
    assert outs[5].latency_ms == pytest.approx(251)
    assert outs[10].failed and outs[10].error == "Get: timeout"


def test_vegeta_targets_are_its_json_format() -> None:
    body = json.dumps({"query": {"match_all": {}}}).encode()
    text = openloop.vegeta_targets([Target("POST", "http://es/_search", body, {"Content-Type": "application/json"})])
    obj = json.loads(text.splitlines()[0])
    assert obj["method"] == "POST" and base64.b64decode(obj["body"]) == body
    assert obj["header"] == {"Content-Type": ["application/json"]}
    assert "body" not in json.loads(openloop.vegeta_targets([Target("GET", "http://x/")]))


def test_vegeta_attack_is_open_loop_at_the_rate() -> None:
    args = openloop.vegeta_attack_args("vegeta", rate=2000, seconds=5, targets_file="t", output="o")
    assert "-rate=2000/1s" in args and "-duration=5s" in args and "-max-body=0" in args
    assert not any(a.startswith("-max-workers") for a in args)  # workers unbounded: a busy pool never waits


@pytest.mark.skipif(openloop.vegeta_binary() is None, reason="vegeta not built (scripts/setup.sh)")
def test_the_real_vegeta_output_parses(slow_server: str) -> None:
    binary = openloop.vegeta_binary()
    assert binary is not None
    run = openloop.run_vegeta(binary, [Target("GET", slow_server + "/")], rate=40, seconds=1)
    stats = openloop.stats(run)
    assert stats["sent"] == 40 and stats["errors"] == 0 and stats["codes"] == {"200": 40}
    assert 190 < stats["p50_ms"] < 600  # open loop: all 40 sent while each answer takes 200 ms


def test_driver_choice_can_be_forced_to_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KABAR_BENCH_DRIVER", "python")
    assert openloop.vegeta_binary() is None


def test_vegeta_binary_is_runnable_when_built() -> None:
    binary = openloop.vegeta_binary()
    if binary is None:
        pytest.skip("vegeta not built")
    assert subprocess.run([binary, "-version"], capture_output=True, timeout=10).returncode == 0


def test_no_ratio_against_a_saturated_baseline() -> None:
    kabar = {**openloop.stats(_run([12.0] * 1000)), "achieved_rps": 990.0}
    base = {**openloop.stats(_run([10.0] * 1000)), "achieved_rps": 600.0}  # asked 1,000/s, answered 600/s
    assert openloop.verdict_ratio(kabar, base, 1.2) == ("n/a", "baseline saturated: served 600.0/s of 1000/s")
    assert openloop.verdict_ratio(kabar, {**base, "achieved_rps": 950.0}, 1.2)[0] == "met"
