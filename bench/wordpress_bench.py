"""The WordPress bridge's throughput: pull (REST API) and WXR import, next to the bulk API's own rate.

Seeds `--posts` posts into the local WordPress (scripts/services.sh; each with a featured image and a
"Baca juga" link), starts a private ingest on a fresh prefix, then, each into a newsroom of its own so
every article is new to Kabar:

- **pull**: `kabar wordpress pull`'s work (REST pages with `_embed`, mapped, sent in bulk), posts/s;
- **import**: WordPress's own WXR export of the site read in two streamed passes and sent in bulk, posts/s
  (the export itself timed apart: it is WordPress's work, not Kabar's);
- **bulk API (baseline)**: the same articles, already mapped, sent straight to the bulk API, posts/s.

All three end when ingest has answered 202 for every post (durably queued), not when indexed: indexing is
the same work whichever way an article came in. Removes the posts it made.

    python -m bench.wordpress_bench [--posts 100] [--per-page 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from harness import wordpress
from harness.results import emit, print_table
from harness.stack import private_stack
from services.wordpress.config import WordPressSettings
from services.wordpress.importer import import_export
from services.wordpress.mapping import from_rest
from services.wordpress.pull import Site
from services.wordpress.run import run_pull
from services.wordpress.sink import IngestSink
from shared.apikeys import create_key

BENCH = "wordpress_bench"


def _ingest(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120)


def _row(way: str, posts: int, seconds: float, **extra: Any) -> dict[str, Any]:
    rate = posts / seconds if seconds else None
    emit(BENCH, "posts_per_s", round(rate or 0, 1), "posts/s", way=way, posts=posts)
    return {"way": way, "posts": posts, "seconds": round(seconds, 2), "posts_per_s": round(rate or 0, 1), **extra}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100)
    parser.add_argument("--per-page", type=int, default=50)
    args = parser.parse_args()

    wp = wordpress.site()
    rows: list[dict[str, Any]] = []
    site_posts = 0
    with wordpress.client(wp) as api:
        started = time.perf_counter()
        seeded = wordpress.seed(api, run=uuid.uuid4().hex[:8], count=args.posts)
        print(f"seeded {args.posts} posts in {time.perf_counter() - started:.1f} s")
        try:
            with private_stack("w") as stack:
                _, ingest_url = stack.api("ingest", "services.ingest.app:create_app")
                settings = WordPressSettings(prefix=stack.prefix, wordpress_ingest_url=ingest_url)
                site_posts = int(api.get("wp/v2/posts", params={"per_page": 1}).headers["x-wp-total"])

                # pull
                site = Site(url=wp.url, newsroom="wpull", username=wp.user, app_password=SecretStr(wp.app_password))
                started = time.perf_counter()
                tally = run_pull(settings, stack.redis, site, per_page=args.per_page, reconciling=False)
                rows.append(_row("pull (REST, _embed)", tally.accepted, time.perf_counter() - started))

                # import (the export timed apart)
                started = time.perf_counter()
                export = Path(tempfile.mkdtemp(prefix="kabar-wxr-")) / "export.xml"
                export.write_bytes(wordpress.export_wxr("all"))
                exported = time.perf_counter() - started
                with _ingest(ingest_url, create_key(redis=stack.redis, prefix=stack.prefix, newsroom="wimp")) as ing:
                    started = time.perf_counter()
                    tally = import_export(export, sink=IngestSink(ing, max_bulk_items=settings.wordpress_bulk_items))
                    size = f"{export.stat().st_size / 1e6:.1f} MB"
                    rows.append(_row("import (WXR)", tally.accepted, time.perf_counter() - started, file=size))
                rows.append(_row("WordPress's export_wp()", site_posts, exported))

                # baseline: the same articles, mapped already, straight to the bulk API
                articles: list[dict[str, Any]] = []
                page = 1
                while True:
                    params: dict[str, str | int] = {"_embed": "1", "per_page": 100, "page": page}
                    params |= {"context": "edit", "orderby": "id"}
                    got = api.get("wp/v2/posts", params=params)
                    articles += [from_rest(post) for post in got.json()]
                    if page >= int(got.headers.get("x-wp-totalpages", 1)):
                        break
                    page += 1
                with _ingest(ingest_url, create_key(redis=stack.redis, prefix=stack.prefix, newsroom="wbulk")) as ing:
                    started = time.perf_counter()
                    tally = IngestSink(ing, max_bulk_items=settings.wordpress_bulk_items).upsert(articles)
                    rows.append(_row("bulk API (baseline)", tally.accepted, time.perf_counter() - started))
        finally:
            wordpress.clear(api, seeded)
    print_table(
        rows, ["way", "posts", "seconds", "posts_per_s", "file"], title=f"{BENCH} ({site_posts} posts on the site)"
    )


if __name__ == "__main__":
    main()
