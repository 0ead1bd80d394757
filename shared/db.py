"""PostgreSQL: one engine per process, one schema per prefix, migrations by Alembic.

Kabar names everything it owns after its prefix so test runs and tenants never collide (indices, queues, Redis
keys); in PostgreSQL that is a schema. Connections set their `search_path` to it when they open, so the tables
and the SQL stay unqualified and the same migrations build every prefix's schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text

from shared.settings import KabarSettings

MIGRATIONS = Path(__file__).parent / "comments" / "migrations"


def schema_name(prefix: str) -> str:
    """The prefix's schema: prefixes allow `-`, which a PostgreSQL name cannot hold unquoted."""
    return prefix.replace("-", "_")


def _quoted(schema: str) -> str:
    return '"' + schema.replace('"', '""') + '"'


def quoted_schema(prefix: str) -> str:
    """The prefix's schema as an SQL identifier, for statements that name it."""
    return _quoted(schema_name(prefix))


def make_engine(settings: KabarSettings, *, pool_size: int | None = None) -> Engine:
    """An engine whose every connection works in the prefix's schema (created by `migrate`)."""
    schema = schema_name(settings.prefix)
    return create_engine(
        settings.database_url.get_secret_value(),
        pool_size=pool_size or settings.database_pool_size,
        pool_pre_ping=True,  # a restarted PostgreSQL costs one retry, not an error to a reader
        # A failed statement's parameters are readers' names, texts and hashes: keep them out of errors and logs.
        hide_parameters=True,
        connect_args={"options": f"-c search_path={_quoted(schema)}", "connect_timeout": 5},
    )


@contextmanager
def one_off_engine(settings: KabarSettings) -> Iterator[Engine]:
    """A one-connection engine for a single job (bootstrap, cleanup), disposed of afterwards."""
    engine = make_engine(settings, pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()


def migrate(engine: Engine, prefix: str, *, revision: str = "head") -> None:
    """Create the prefix's schema and bring it to `revision`; safe on every deploy and from several at once."""
    schema = schema_name(prefix)
    with engine.begin() as conn:
        # Two deploys migrating one schema at once take turns (the lock ends with the transaction).
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:schema))"), {"schema": schema})
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {_quoted(schema)}"))
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        config.attributes["schema"] = schema
        command.upgrade(config, revision)


def drop_schema(engine: Engine, prefix: str) -> None:
    """Remove the prefix's schema and everything in it (tests and benches clean up with it)."""
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {quoted_schema(prefix)} CASCADE"))
