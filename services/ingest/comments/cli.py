"""`kabar moderators add|disable|enable`: accounts for the moderation page (/moderasi).

The password never goes on the command line (it would sit in shell history and the process list): it is read
from --password-file, or from standard input (asked for without echo on a terminal).
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy.orm import Session

from services.ingest.comments import accounts
from services.ingest.config import IngestSettings
from shared.db import one_off_engine
from shared.errors import KabarError


def register(sub: argparse._SubParsersAction) -> None:
    moderators = sub.add_parser("moderators", help="accounts for the comment moderation page")
    actions = moderators.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create a moderator (password from stdin or --password-file)")
    add.add_argument("--newsroom", required=True)
    add.add_argument("--username", required=True)
    add.add_argument("--password-file", type=Path, help="a file whose first line is the password")
    add.set_defaults(func=_add)
    helps = {"disable": "disable a moderator (their sessions stop at once)", "enable": "enable a moderator again"}
    for name, disabled in (("disable", True), ("enable", False)):
        action = actions.add_parser(name, help=helps[name])
        action.add_argument("--newsroom", required=True)
        action.add_argument("--username", required=True)
        action.set_defaults(func=_set_disabled, disabled=disabled)


def _password(path: Path | None) -> str:
    if path is not None:
        lines = path.read_text().splitlines()
        return lines[0] if lines else ""
    if sys.stdin.isatty():
        return getpass.getpass("Kata sandi: ")
    return sys.stdin.readline().rstrip("\r\n")


def _add(args: argparse.Namespace) -> int:
    password = _password(args.password_file)
    settings = IngestSettings()
    with one_off_engine(settings) as engine, Session(engine, expire_on_commit=False) as session:
        try:
            moderator = accounts.add(session=session, newsroom=args.newsroom, username=args.username, password=password)
        except (ValueError, KabarError) as exc:
            print(str(exc), file=sys.stderr)
            return 1
    print(f"moderator {moderator.username} added to {moderator.newsroom} (id {moderator.id})")
    return 0


def _set_disabled(args: argparse.Namespace) -> int:
    settings = IngestSettings()
    with one_off_engine(settings) as engine, Session(engine, expire_on_commit=False) as session:
        try:
            accounts.set_disabled(
                session=session, newsroom=args.newsroom, username=args.username, disabled=args.disabled
            )
        except KabarError as exc:
            print(str(exc), file=sys.stderr)
            return 1
    print(f"moderator {args.username} of {args.newsroom} {'disabled' if args.disabled else 'enabled'}")
    return 0
