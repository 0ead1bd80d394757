"""The PostgreSQL scripts/services.sh runs (`make test` starts it): version 15, loopback only, durable, run by
its own unprivileged user, and Kabar's role is no superuser."""

from __future__ import annotations

import os
import pwd
from collections.abc import Iterator
from pathlib import Path
from typing import LiteralString

import psycopg
import pytest

DEFAULT_URL = "postgresql://kabar:kabar@127.0.0.1:5432/kabar"
PG_USER = "kabar-pg"

pytestmark = pytest.mark.skipif(os.environ.get("KABAR_POSTGRES") == "off", reason="KABAR_POSTGRES=off: no PostgreSQL")


def database_url() -> str:
    """KABAR_DATABASE_URL as libpq takes it (SQLAlchemy's `+psycopg` driver suffix removed)."""
    url = os.environ.get("KABAR_DATABASE_URL") or DEFAULT_URL
    scheme, sep, rest = url.partition("://")
    return scheme.split("+", 1)[0] + sep + rest


@pytest.fixture(scope="module")
def conn() -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with psycopg.connect(database_url(), connect_timeout=5, autocommit=True) as connection:
        yield connection


def one(conn: psycopg.Connection[tuple[object, ...]], sql: LiteralString) -> object:
    row = conn.execute(sql).fetchone()
    assert row is not None, sql
    return row[0]


def proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines)}


def test_postgres_15_connected_as_kabar(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    assert str(one(conn, "show server_version")).startswith("15.")
    assert one(conn, "select current_user") == "kabar"
    assert one(conn, "select current_database()") == "kabar"


def test_listens_on_loopback_only(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    assert one(conn, "show listen_addresses") == "127.0.0.1"


def test_commits_are_durable(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """Reader comments have no other copy: fsync and synchronous commit stay on."""
    assert one(conn, "show fsync") == "on"
    assert one(conn, "show synchronous_commit") == "on"


def test_kabar_is_not_a_superuser(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    assert one(conn, "show is_superuser") == "off"
    assert one(conn, "select rolsuper or rolcreaterole from pg_roles where rolname = current_user") is False


def test_the_server_runs_as_its_own_unprivileged_user(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    """This connection's backend is a child of the postmaster; both run as kabar-pg (real and effective uid)."""
    uid = pwd.getpwnam(PG_USER).pw_uid
    assert uid != 0
    backend = proc_status(int(str(one(conn, "select pg_backend_pid()"))))
    postmaster_pid = int(backend["PPid"])
    postmaster = proc_status(postmaster_pid)
    assert postmaster["Name"] == "postgres"
    for status in (backend, postmaster):
        real, effective = status["Uid"].split()[:2]
        assert (int(real), int(effective)) == (uid, uid), status["Uid"]
