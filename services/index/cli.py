"""Index commands: `kabar bootstrap`, `kabar reindex`, `kabar dead-letters list|replay`, `kabar related rebuild`."""

from __future__ import annotations

import argparse
import json

from kombu import Connection

from services.index import deadletters
from services.index.celery_app import bootstrap
from services.index.config import IndexSettings
from services.index.indexing.reindex import reindex
from services.index.related import lists as related
from services.index.related import ranker
from shared.es import IndexLayout, IndexNames, create_client
from shared.redisconn import redis_client


def register(sub: argparse._SubParsersAction) -> None:
    boot = sub.add_parser("bootstrap", help="create the index template, alias and queues (idempotent)")
    boot.set_defaults(func=_bootstrap)

    rx = sub.add_parser("reindex", help="copy the articles into a new index from the current template, swap the alias")
    rx.add_argument("--delete-old", action="store_true", help="delete the old index after the swap")
    rx.add_argument("--chunk-size", type=int, default=500)
    rx.set_defaults(func=_reindex)

    dead = sub.add_parser("dead-letters", help="inspect and replay messages the workers gave up on")
    actions = dead.add_subparsers(dest="action", required=True)
    ls = actions.add_parser("list", help="show dead letters without removing them")
    ls.add_argument("--limit", type=int, default=20)
    ls.set_defaults(func=_dead_list)
    rp = actions.add_parser("replay", help="send dead letters back to the queue they came from")
    rp.add_argument(
        "--limit",
        type=_positive,
        default=deadletters.REPLAY_LIMIT,
        help=f"replay at most this many (default {deadletters.REPLAY_LIMIT}); never more than were waiting",
    )
    rp.set_defaults(func=_dead_replay)

    rel = sub.add_parser("related", help="related-link lists")
    rel_actions = rel.add_subparsers(dest="action", required=True)
    rebuild = rel_actions.add_parser("rebuild", help="recompute every published article's list (after a backfill)")
    rebuild.add_argument("--k", type=int, default=None)
    rebuild.set_defaults(func=_related_rebuild)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def _bootstrap(args: argparse.Namespace) -> int:
    bootstrap(IndexSettings())
    print("bootstrapped")
    return 0


def _reindex(args: argparse.Namespace) -> int:
    settings = IndexSettings()
    client = create_client(settings)
    # Scroll and bulk pages of a large index take longer than an ordinary request.
    es = client.options(request_timeout=120)
    try:
        result = reindex(
            es=es,
            names=IndexNames(settings.prefix),
            layout=IndexLayout.from_settings(settings),
            delete_old=args.delete_old,
            chunk_size=args.chunk_size,
        )
    finally:
        client.close()
    print(json.dumps(result.as_dict()))
    return 0


def _dead_list(args: argparse.Namespace) -> int:
    settings = IndexSettings()
    with Connection(settings.broker_url) as conn:
        letters = deadletters.list_dead(connection=conn, prefix=settings.prefix, limit=args.limit)
    for letter in letters:
        print(json.dumps(letter.as_dict(), ensure_ascii=False))
    print(f"{len(letters)} dead letter(s) shown")
    return 0


def _dead_replay(args: argparse.Namespace) -> int:
    settings = IndexSettings()
    with Connection(settings.broker_url) as conn:
        replayed = deadletters.replay(connection=conn, prefix=settings.prefix, limit=args.limit)
    print(f"replayed {len(replayed)} dead letter(s)")
    return 0


def _related_rebuild(args: argparse.Namespace) -> int:
    settings = IndexSettings()
    es = create_client(settings)
    redis = redis_client(settings)
    try:
        count = related.rebuild_all(
            es=es,
            names=IndexNames(settings.prefix),
            k=args.k or settings.related_k,
            ranker=ranker.load(settings.related_model or None),
            redis=redis,
        )
    finally:
        es.close()
        redis.close()
    print(f"recomputed {count} list(s)")
    return 0
