"""The test harness's ports: processes started side by side must never be given the same one."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.procs import free_port


def _ephemeral_range() -> range:
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    return range(low, high + 1)


def test_ports_handed_out_side_by_side_are_all_different() -> None:
    # Eight threads, as the scaling test starts its processes; binding port 0 gave two of them one port.
    with ThreadPoolExecutor(8) as pool:
        ports = list(pool.map(lambda _: free_port(), range(400)))
    assert len(set(ports)) == len(ports)


def test_ports_are_outside_the_range_outgoing_connections_take() -> None:
    # A client's connection in between free_port() and the child's bind would take an ephemeral port.
    ephemeral = _ephemeral_range()
    assert not [port for port in (free_port() for _ in range(50)) if port in ephemeral]


def test_a_port_in_use_is_never_handed_out() -> None:
    held = []
    try:
        for _ in range(50):
            port = free_port()
            s = socket.socket()
            s.bind(("127.0.0.1", port))  # free when handed out...
            s.listen()
            held.append(s)
        # ...and none of the held ones comes back while held.
        assert not {free_port() for _ in range(200)} & {s.getsockname()[1] for s in held}
    finally:
        for s in held:
            s.close()
