"""Index commands: `kabar bootstrap`; more (reindex, dead letters, related) register here."""

from __future__ import annotations

import argparse

from services.index.celery_app import bootstrap
from services.index.config import IndexSettings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    boot = sub.add_parser("bootstrap", help="create the index template, alias and queues (idempotent)")
    boot.set_defaults(func=_bootstrap)


def _bootstrap(args: argparse.Namespace) -> int:
    bootstrap(IndexSettings())
    print("bootstrapped")
    return 0
