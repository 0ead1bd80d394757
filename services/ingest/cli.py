"""Newsroom key commands: `kabar newsroom create NAME`, `kabar newsroom revoke KEY|--all NAME`."""

from __future__ import annotations

import argparse

from services.ingest import auth
from services.ingest.config import IngestSettings
from shared.redisconn import redis_client


def register(sub: argparse._SubParsersAction) -> None:
    newsroom = sub.add_parser("newsroom", help="create and revoke newsroom API keys")
    actions = newsroom.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a key for a newsroom (printed once)")
    create.add_argument("name")
    create.set_defaults(func=_create)
    revoke = actions.add_parser("revoke", help="revoke one key, or every key of a newsroom with --all")
    revoke.add_argument("key_or_name")
    revoke.add_argument("--all", action="store_true", help="treat the argument as a newsroom name")
    revoke.set_defaults(func=_revoke)


def _create(args: argparse.Namespace) -> int:
    settings = IngestSettings()
    with redis_client(settings) as redis:
        print(auth.create_key(redis=redis, prefix=settings.prefix, newsroom=args.name))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    settings = IngestSettings()
    with redis_client(settings) as redis:
        if args.all:
            count = auth.revoke_newsroom(redis=redis, prefix=settings.prefix, newsroom=args.key_or_name)
            print(f"revoked {count} key(s)")
            return 0
        ok = auth.revoke_key(redis=redis, prefix=settings.prefix, key=args.key_or_name)
        print("revoked" if ok else "no such key")
        return 0 if ok else 1
