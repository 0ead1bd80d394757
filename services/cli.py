"""`kabar` — the operators' command line. Each service registers its own subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from services import ops
from services.index import cli as index_cli
from services.ingest import cli as ingest_cli
from services.ingest.comments import cli as moderators_cli
from services.wordpress import cli as wordpress_cli

Registrar = Callable[[argparse._SubParsersAction], None]
REGISTRARS: list[Registrar] = [
    ingest_cli.register,
    moderators_cli.register,
    index_cli.register,
    wordpress_cli.register,
    ops.register,
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kabar", description="Operate a Kabar deployment.")
    sub = parser.add_subparsers(dest="command", required=True)
    for register in REGISTRARS:
        register(sub)
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
