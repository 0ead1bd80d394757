"""Import a WordPress export (WXR) through Kabar's bulk API: published posts, their featured images.

Two streamed passes over the file (wxr.py): attachments and authors first, then posts in batches of the
bulk API's size. Articles carry the same external ids and versions as a pull of the same site gives, so an
import followed by a pull, or a second import, changes nothing (the bulk API answers `unchanged`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tqdm import tqdm

from services.wordpress import wxr
from services.wordpress.mapping import PUBLISHED, from_wxr
from services.wordpress.sink import IngestSink, Tally


def import_export(source: Path, *, sink: IngestSink, batch: int = 200, progress: bool = False) -> Tally:
    export = wxr.index(source)
    tally = Tally()
    pending: list[dict[str, Any]] = []
    total = export.counts.get("post", 0)
    with tqdm(total=total, desc=f"import {source.name}", unit="post", disable=not progress) as bar:
        for item in wxr.iter_items(source):
            bar.update(1)
            if item.status != PUBLISHED:
                continue
            pending.append(from_wxr(item, authors=export.authors, attachments=export.attachments))
            if len(pending) >= batch:
                tally.add(sink.upsert(pending))
                pending = []
        if pending:
            tally.add(sink.upsert(pending))
    return tally
