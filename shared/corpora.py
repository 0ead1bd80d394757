"""Readers for the news corpora under ../shared/data/raw (and any JSONL/CSV of Kabar articles).

Each reader yields native Kabar article dicts (the ingest API's JSON) so demo loading, tests and
benchmarks all go through the same model. Corpus text is read by path at run time, never copied.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

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


# Indonesian time zones as newsrooms write them after the time (WIB is Asia/Jakarta).
_ZONE_OFFSETS = {"wib": 7, "wita": 8, "wit": 9}
# The time may follow the date after a space, " - " (sindonews) or ", " (kompas), then an optional zone.
_TIME = r"(?:(?:\s*[-,]\s*|\s+)(\d{1,2})[:.](\d{2})(?:\s*(WITA|WIB|WIT)\b)?)?"
_NAMED_DATE = re.compile(r"(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})" + _TIME, re.I)
_NUMERIC_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})" + _TIME, re.I)


def parse_indonesian_date(text: str) -> datetime | None:
    """'Jumat, 29 Mei 2026 22:02 WIB', 'Selasa, 10 Juni 2025 - 13:44 WIB', 'Tayang: Senin, 9 Juni 2025 19:53 WITA'
    or 'Kompas.com - 26/04/2023, 18:15 WIB' → aware datetime in Asia/Jakarta.

    A time in WITA (+08:00) or WIT (+09:00) is converted to Jakarta time. A date without a time of day is
    Jakarta midnight exactly, which downstream code reads as "dated to the day only".
    """
    text = text or ""
    named = _NAMED_DATE.search(text)
    if named and named.group(2).lower() in _ID_MONTHS:
        day, month, year = int(named.group(1)), _ID_MONTHS[named.group(2).lower()], int(named.group(3))
        m = named
    elif numeric := _NUMERIC_DATE.search(text):
        day, month, year = int(numeric.group(1)), int(numeric.group(2)), int(numeric.group(3))
        m = numeric
    else:
        return None
    zone = (m.group(6) or "wib").lower() if m.group(4) is not None else "wib"
    try:
        return datetime(
            year,
            month,
            day,
            int(m.group(4) or 0),
            int(m.group(5) or 0),
            tzinfo=JAKARTA if zone == "wib" else timezone(timedelta(hours=_ZONE_OFFSETS[zone])),
        ).astimezone(JAKARTA)
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


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


def _outlet(url: str) -> str:
    """The outlet's host without subdomains: 'https://aceh.tribunnews.com/...' → 'tribunnews.com'."""
    parts = (urlparse(url).hostname or "").removeprefix("www.").split(".")
    keep = 3 if len(parts) >= 3 and parts[-2] in {"co", "go", "or", "ac", "web", "my", "sch", "net"} else 2
    return ".".join(parts[-keep:])


def _url_id(prefix: str, url: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9._-]+", "-", urlparse(url).path).strip("-")[:180]


def _without_tracking(url: str) -> str:
    """The URL without utm_* query parameters (kompas RSS links carry them)."""
    parts = urlparse(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    return urlunparse(parts._replace(query=urlencode(query)))


# An Antara body dates its news in the text: "di Jakarta, Senin (13/11)." Photo captions add the year.
_DAY_MONTH = re.compile(r"\((\d{1,2})/(\d{1,2})\)")
_DAY_MONTH_YEAR = re.compile(r"\((\d{1,2})/(\d{1,2})/(\d{4})\)")
PPW_YEAR = 2023


def _first_day_month(text: str) -> datetime | None:
    """The first valid "(d/m)" date in text (else the first "(d/m/yyyy)") as Jakarta midnight: the day only."""
    for pattern in (_DAY_MONTH, _DAY_MONTH_YEAR):
        for m in pattern.finditer(text):
            year = int(m.group(3)) if pattern is _DAY_MONTH_YEAR else PPW_YEAR
            try:
                return datetime(year, int(m.group(2)), int(m.group(1)), tzinfo=JAKARTA)
            except ValueError:
                continue  # "(3/15)" is a cricket score, "(31/11)" a typo
    return None


def ppw(root: Path) -> Iterator[dict[str, Any]]:
    """antaranews.com politik / ekonomi / olahraga, Nov–Dec 2023 (ppw): editors' "Baca juga" on own lines.

    No URL and no date column: the id hashes the title, the date is the first "(d/m)" in the body.
    """
    path = root / "ppw" / "Data Berita.csv"
    seen: set[tuple[str, str]] = set()
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            title, body = row["judul"].strip(), row["isi"]
            if not title or (title, body) in seen:
                continue
            seen.add((title, body))
            digest = hashlib.sha256(title.encode("utf-8")).hexdigest()[:16]
            yield {
                "external_id": f"ppw-{digest}",
                "title": title[:300],
                "body_paragraphs": _paragraphs(body) or [title],
                "section": row["label"].strip().title() or None,
                "source": "antaranews.com",
                "published_at": _iso(_first_day_month(body)),
            }


def _indonews_rows(folder: Path) -> Iterator[dict[str, str]]:
    """Rows of the four gikirima files as {title, body, date, section, url}."""
    for name in ("berita_detik.csv", "berita_kompas.csv"):
        with (folder / name).open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                url = (row.get("url") or "").strip()
                date = (row.get("date") or "").strip()
                time = (row.get("time") or "").strip()
                if time and not re.search(r"\d{1,2}[:.]\d{2}", date):
                    date = f"{date} {time}"  # detik: '06 Jun 2025' + '21:02'
                # kompas files everything under 'Kompas.com'; its subdomain names the section.
                section = (row.get("category") or "").strip()
                if name == "berita_kompas.csv":
                    section = (urlparse(url).hostname or "").split(".")[0].title()
                yield {"title": row["title"], "body": row["content"], "date": date, "section": section, "url": url}
    import openpyxl  # only these two files need it

    for name in ("berita_sindonews.xlsx", "berita_tribun.xlsx"):
        book = openpyxl.load_workbook(folder / name, read_only=True)
        try:
            rows = book.worksheets[0].iter_rows(values_only=True)
            header = [str(cell) for cell in next(rows)]
            for values in rows:
                cells = {k: "" if v is None else str(v) for k, v in zip(header, values, strict=False)}
                yield {
                    "title": cells.get("Judul", ""),
                    "body": cells.get("Isi", ""),
                    "date": cells.get("Tanggal", ""),
                    "section": cells.get("Kategori", ""),
                    "url": cells.get("Link", "").strip(),
                }
        finally:
            book.close()


def indonews(root: Path) -> Iterator[dict[str, Any]]:
    """detik, kompas, sindonews and tribunnews, 1–11 June 2025 (gikirima/indonews-scrapper, 'old dataset').

    Bodies are kept as scraped, "Baca juga" lines and detik's furniture included (Kabar's cleaner cuts it).
    """
    seen: set[str] = set()
    for row in _indonews_rows(root / "indonews-scrapper" / "old dataset"):
        url = _without_tracking(row["url"])
        title = row["title"].strip()
        if not url or not title or url in seen:
            continue
        seen.add(url)
        yield {
            "external_id": _url_id("ino-", url),
            "title": title[:300],
            # 73 detik photo and video pages have no text; the title stands in, as for the other detik sets.
            "body_paragraphs": _paragraphs(row["body"]) or [title],
            "section": row["section"].strip()[:100] or None,
            "source": _outlet(url),
            "canonical_url": url,
            "published_at": _iso(parse_indonesian_date(row["date"])),
        }


# kompas.com URLs carry the publication date and time: /read/2023/04/26/181500370/slug.
_KOMPAS_URL_TIME = re.compile(r"/read/(\d{4})/(\d{2})/(\d{2})/(\d{2})(\d{2})\d+/")
# news_article_raw is a Python list of BeautifulSoup <p> tags written with str(): "[<p>…</p>, <p>…</p>]".
_RAW_P_SEPARATOR = re.compile(r"(?<=</p>), (?=<p[\s>])")
# Ad slots (jixie outstream, video players, embeds) sit in their own <p> with a <div>, <script> or <iframe>.
_AD_SLOT = re.compile(r"<(?:div|script|iframe)\b", re.I)
# "Pickwords" ad widgets wrap a word in a javascript: link with an icon; the word alone is the text.
_PICKWORDS = re.compile(
    r'<a class="pickwords[^"]*"[^>]*>\s*(?:<img[^>]*>)?\s*<small class="pickwords-text">(.*?)</small>\s*</a>', re.S
)


def _kompas_body_html(raw: str) -> str:
    """The article's <p> elements, one a line, with their anchors (and hrefs); ad slots dropped."""
    inner = raw.strip().removeprefix("[").removesuffix("]")
    paragraphs = [p for p in _RAW_P_SEPARATOR.split(inner) if p.strip() and not _AD_SLOT.search(p)]
    return "\n".join(_PICKWORDS.sub(r"\1", p) for p in paragraphs)


def kompas_scraper(root: Path) -> Iterator[dict[str, Any]]:
    """kompas.com/global, 7–26 April 2023 (CahyaPutera/KompasScraper), as HTML bodies whose "Baca juga"
    anchors keep their href: exact link targets.

    The article file has no title or URL. The scraper walked the URL file in order and skipped pages that
    failed, so each article row is the next URL row whose path time matches its publish_date.
    """
    folder = root / "KompasScraper" / "data"
    with (folder / "kompas_news_url.csv").open(newline="", encoding="utf-8") as fh:
        urls = [(row["headlines"].strip(), row["headline_url"].strip()) for row in csv.DictReader(fh)]
    seen: set[str] = set()
    position = 0
    with (folder / "kompas_news_article.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            published = parse_indonesian_date(row["publish_date"])
            if published is None:
                continue
            stamp = published.strftime("%Y%m%d%H%M")
            while position < len(urls):
                m = _KOMPAS_URL_TIME.search(urls[position][1])
                position += 1
                if m and "".join(m.groups()) == stamp:
                    title, url = urls[position - 1]
                    break
            else:
                return  # no URL row left for this article: the files no longer line up
            body = _kompas_body_html(row["news_article_raw"])
            if not title or url in seen or not body:
                continue
            seen.add(url)
            yield {
                "external_id": _url_id("kps-", url),
                "title": title[:300],
                "body": body,
                "section": "Global",
                "source": "kompas.com",
                "canonical_url": url,
                "published_at": published.isoformat(),
            }


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
    "ppw": ppw,
    "indonews": indonews,
    "kompas-scraper": kompas_scraper,
}

# What 'all' has always meant (demos, tests and benches rely on it); newer corpora are named or grouped.
ALL_CORPORA = ("news-intelligence", "summarization", "scrapper", "indosum")
# Every corpus whose bodies carry editors' "Baca juga" links that resolve to other articles in it.
LINKED_CORPORA = ("ppw", "indonews", "kompas-scraper", "scrapper")
GROUPS = {"all": ALL_CORPORA, "linked": LINKED_CORPORA}


def linked_corpus_names() -> list[str]:
    """The corpora with editors' links, in the order the 'linked' spec yields them."""
    return list(LINKED_CORPORA)


def load(spec: str, root: Path) -> Iterator[dict[str, Any]]:
    """A named corpus under root (see CORPORA), a group ('all', 'linked') or a .jsonl file of native articles."""
    if spec in GROUPS:
        for name in GROUPS[spec]:
            yield from CORPORA[name](root)
    elif spec in CORPORA:
        yield from CORPORA[spec](root)
    else:
        yield from jsonl(Path(spec))
