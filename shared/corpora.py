"""Readers for the news corpora under ../shared/data/raw (and any JSONL/CSV of Kabar articles).

Each reader yields native Kabar article dicts (the ingest API's JSON) so demo loading, tests and
benchmarks all go through the same model. Corpus text is read by path at run time, never copied.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from shared.models import JAKARTA

csv.field_size_limit(sys.maxsize)


def shared_data_dir() -> Path:
    """The corpora's folder: KABAR_SHARED_DATA, else ../shared/data beside the checkout (its one setting)."""
    configured = os.environ.get("KABAR_SHARED_DATA")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "shared" / "data"


def raw_dir() -> Path:
    """The raw news corpora (shared/data/raw, see its README for columns and licences)."""
    return shared_data_dir() / "raw"


_ID_MONTHS = {
    "jan": 1,
    "januari": 1,
    "feb": 2,
    "februari": 2,
    "mar": 3,
    "maret": 3,
    "apr": 4,
    "april": 4,
    "mei": 5,
    "jun": 6,
    "juni": 6,
    "jul": 7,
    "juli": 7,
    "agu": 8,
    "agt": 8,
    "agustus": 8,
    "sep": 9,
    "september": 9,
    "okt": 10,
    "oktober": 10,
    "nov": 11,
    "november": 11,
    "des": 12,
    "desember": 12,
}


def parse_indonesian_date(text: str) -> datetime | None:
    """'Jumat, 29 Mei 2026 22:02 WIB' → aware datetime (Asia/Jakarta)."""
    m = re.search(r"(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})(?:\s+(\d{1,2})[:.](\d{2}))?", text or "")
    if not m or m.group(2).lower() not in _ID_MONTHS:
        return None
    return datetime(
        int(m.group(3)),
        _ID_MONTHS[m.group(2).lower()],
        int(m.group(1)),
        int(m.group(4) or 0),
        int(m.group(5) or 0),
        tzinfo=JAKARTA,
    )


def _host_source(url: str) -> str:
    host = urlparse(url).hostname or ""
    parts = host.split(".")
    return parts[-2] if len(parts) >= 2 else host or "unknown"


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n+", text or "") if p.strip()]


def news_intelligence(root: Path) -> Iterator[dict[str, Any]]:
    """detik.com articles with kategori and Indonesian dates (indonesian-news-intelligence-apps)."""
    for split in ("train", "val", "test"):
        path = root / "indonesian-news-intelligence-apps" / "data" / "splits" / f"{split}.csv"
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                published = parse_indonesian_date(row.get("tanggal", ""))
                yield {
                    "external_id": f"detik-{row['article_id']}",
                    "title": row["judul"].strip()[:300],
                    "body_paragraphs": _paragraphs(row["isi"]) or [row["judul"]],
                    "section": row["kategori"].strip().title() or None,
                    "source": "detik.com",
                    "canonical_url": row["url"] or None,
                    "published_at": published.isoformat() if published else None,
                }


def summarization(root: Path) -> Iterator[dict[str, Any]]:
    """detik.com articles with aspect and search keyword (indonesian-news-summarization-dataset)."""
    path = root / "indonesian-news-summarization-dataset" / "data_berita.csv"
    seen: set[str] = set()
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["tautan"] in seen:
                continue
            seen.add(row["tautan"])
            published = datetime.strptime(row["tanggal"], "%m/%d/%Y %H:%M").replace(tzinfo=JAKARTA)
            yield {
                "external_id": f"detiksum-{row['id']}",
                "title": row["judul"].strip()[:300],
                "body_paragraphs": _paragraphs(row["isi_berita"]) or [row["judul"]],
                "section": row["aspek_target"].strip() or None,
                "tags": [row["keyword_sumber"].strip()] if row.get("keyword_sumber") else [],
                "source": "detik.com",
                "canonical_url": row["tautan"],
                "published_at": published.isoformat(),
            }


def scrapper(root: Path) -> Iterator[dict[str, Any]]:
    """Pemilu 2024 clusters with editors' "Baca juga" links still in the bodies (indo-news-scrapper)."""
    path = root / "indo-news-scrapper" / "dataset" / "combined_file.csv"
    seen: set[str] = set()
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="~"):
            url = (row.get("url") or "").strip()
            if not url or url in seen or not row.get("main"):
                continue
            seen.add(url)
            try:
                published = datetime.fromisoformat(row["date"].strip()).replace(tzinfo=JAKARTA)
            except (ValueError, AttributeError):
                published = None
            yield {
                "external_id": "scr-" + re.sub(r"[^A-Za-z0-9._-]+", "-", urlparse(url).path).strip("-")[:180],
                "title": row["title"].strip()[:300],
                "body_paragraphs": _paragraphs(row["main"]),
                "section": "Pemilu",
                "source": (row.get("source") or _host_source(url)).strip(),
                "canonical_url": url,
                "published_at": published.isoformat() if published else None,
            }


def indosum(root: Path) -> Iterator[dict[str, Any]]:
    """IndoSum dev folds (CC BY-SA 4.0): tokenised text, category, source; date from the id prefix."""
    seen: set[str] = set()
    for path in sorted((root / "INDOSUM2" / "indosum").glob("dev.0*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                if row["id"] in seen:
                    continue
                seen.add(row["id"])
                paras = [_detok(" ".join(" ".join(s) for s in para)) for para in row["paragraphs"]]
                slug = row["id"].split("-", 1)[-1]
                title = slug.replace("-", " ").strip().capitalize() or paras[0][:120]
                stamp = row["id"].split("-", 1)[0]
                published = datetime.fromtimestamp(int(stamp), JAKARTA) if stamp.isdigit() else None
                yield {
                    "external_id": f"indosum-{row['id'][:180]}",
                    "title": title[:300],
                    "body_paragraphs": paras,
                    "section": row.get("category", "").title() or None,
                    "source": row.get("source"),
                    "canonical_url": row.get("source_url") or None,
                    "published_at": published.isoformat() if published else None,
                }


def _detok(text: str) -> str:
    return re.sub(r"\s+([.,!?;:%)\]])", r"\1", re.sub(r"([(\[])\s+", r"\1", text))


def jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Kabar's own format: one native article JSON a line."""
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


CORPORA = {
    "news-intelligence": news_intelligence,
    "summarization": summarization,
    "scrapper": scrapper,
    "indosum": indosum,
}


def load(spec: str, root: Path) -> Iterator[dict[str, Any]]:
    """A named corpus under root (see CORPORA), 'all', or a path to a .jsonl file of native articles."""
    if spec == "all":
        for reader in CORPORA.values():
            yield from reader(root)
    elif spec in CORPORA:
        yield from CORPORA[spec](root)
    else:
        yield from jsonl(Path(spec))
