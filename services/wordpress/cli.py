"""`kabar wordpress pull --site URL --newsroom NAME` and `kabar wordpress import export.xml --newsroom NAME`.

Both go through Kabar's ingest API at KABAR_WORDPRESS_INGEST_URL with a key of the newsroom: the one in
KABAR_WORDPRESS_API_KEY when set, otherwise a key made for this run and revoked when it ends (the operator
running the command already holds Redis, where keys live, so no key has to be copied around).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import SecretStr

from services.wordpress.config import WordPressSettings
from services.wordpress.importer import import_export
from services.wordpress.pull import Site, SiteState
from services.wordpress.run import ingest_client, run_pull
from services.wordpress.sink import IngestSink, Tally
from shared.redisconn import redis_client


def register(sub: argparse._SubParsersAction) -> None:
    wordpress = sub.add_parser("wordpress", help="bring a WordPress site's posts into Kabar")
    actions = wordpress.add_subparsers(dest="action", required=True)
    pull_cmd = actions.add_parser("pull", help="pull posts changed since the last pull (REST API)")
    pull_cmd.add_argument("--site", required=True, help="the site's address, e.g. https://berita.example/")
    pull_cmd.add_argument("--newsroom", required=True)
    pull_cmd.add_argument("--username", help="a WordPress user with an application password (sees every status)")
    pull_cmd.add_argument("--app-password-file", type=Path, help="file holding that user's application password")
    pull_cmd.add_argument("--per-page", type=int, default=50)
    pull_cmd.add_argument("--no-reconcile", action="store_true", help="skip looking for deleted posts")
    pull_cmd.add_argument("--from-start", action="store_true", help="forget the cursor and pull every post")
    pull_cmd.set_defaults(func=_pull)
    import_cmd = actions.add_parser("import", help="import a WordPress export file (WXR) through the bulk API")
    import_cmd.add_argument("file", type=Path)
    import_cmd.add_argument("--newsroom", required=True)
    import_cmd.set_defaults(func=_import)


def _print(tally: Tally) -> None:
    print(json.dumps(tally.__dict__, ensure_ascii=False))


def _pull(args: argparse.Namespace) -> int:
    settings = WordPressSettings()
    password = SecretStr(args.app_password_file.read_text().strip()) if args.app_password_file else None
    site = Site(url=args.site, newsroom=args.newsroom, username=args.username, app_password=password)
    with redis_client(settings) as redis:
        if args.from_start:
            SiteState(redis, settings.prefix, site).reset()
        tally = run_pull(settings, redis, site, per_page=args.per_page, reconciling=not args.no_reconcile)
    _print(tally)
    return 1 if tally.rejected else 0


def _import(args: argparse.Namespace) -> int:
    settings = WordPressSettings()
    with redis_client(settings) as redis, ingest_client(settings, redis, args.newsroom) as ingest:
        sink = IngestSink(ingest, max_bulk_items=settings.wordpress_bulk_items)
        tally = import_export(args.file, sink=sink, progress=sys.stderr.isatty())
    _print(tally)
    return 1 if tally.rejected else 0
