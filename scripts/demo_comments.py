"""The demo's reader comments, in the states a moderator meets: published, a reply, awaiting moderation,
withheld by the rules (spam), rejected. Posted through publish's form as readers do (proof of work solved
here, as the browser's script would), moderated through the newsroom's moderation API, and a moderator
account made for the moderation page (/moderasi).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from harness.comments import CSRF_COOKIE, prepared_post
from harness.procs import wait_until
from services.ingest.comments import accounts
from services.ingest.config import IngestSettings
from shared.db import make_engine

# (reader, text, what the moderator does): "approve", "reject", or None (left in the queue).
THREAD = [
    ("Rina", "Semoga pertemuan bulan Januari bisa meredakan ketegangan.", "approve"),
    ("Budi S.", "Beritanya jelas. Apakah ada tanggapan resmi dari Kementerian Luar Negeri?", "approve"),
    ("Dewi", "Saya setuju, dialog harus diutamakan.", "approve"),  # a reply to the first
    ("Anton", "Kapan pertemuan berikutnya dijadwalkan?", None),
    ("Promo", "SLOT GACOR maxwin hari ini!!! daftar https://gacor.example https://bonus.example", None),
    ("Iseng", "Komentar ini tidak sesuai aturan komunitas.", "reject"),
]


def _post(publish_url: str, uid: str, name: str, text: str, parent: int | None) -> str:
    mailbox = "".join(c for c in name.lower() if c.isalnum())
    cookie, data = prepared_post(publish_url, uid, nama=name, komentar=text, email=f"{mailbox}@contoh.id")
    if parent is not None:
        data["balas"] = str(parent)
    with httpx.Client(base_url=publish_url, timeout=30, cookies={CSRF_COOKIE: cookie}) as client:
        posted = client.post(f"/komentar/{uid}", data=data)
    if posted.status_code != 303:
        raise SystemExit(f"[demo] comment refused: {posted.status_code} {posted.text[:300]}")
    return posted.headers["location"].rsplit("/", 1)[1]


def _stored(ingest: httpx.Client, text: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for queue in ("pending", "withheld"):
            items = ingest.get("/v1/comments", params={"queue": queue, "limit": 100}).json()["items"]
            match = next((item for item in items if item["body"] == text), None)
            if match:
                return match
        return None

    return wait_until(find, timeout=60, interval=0.3, what="a demo comment moderated by the rules")


def load_comments(*, publish_url: str, ingest: httpx.Client, uid: str) -> None:
    """One thread on one story; threads never close by age in the demo (its stories are old)."""
    ingest.put("/v1/comment-policies/newsroom", json={"mode": "pre", "close_after_days": 0}).raise_for_status()
    first: int | None = None
    for i, (name, text, action) in enumerate(THREAD):
        _post(publish_url, uid, name, text, first if i == 2 else None)
        comment = _stored(ingest, text)
        if action:
            ingest.post(f"/v1/comments/{comment['id']}/{action}", json={"reason": "demo"}).raise_for_status()
        if i == 0:
            first = comment["id"]


def moderator(newsroom: str, run: Path) -> tuple[str, Path]:
    """The demo's moderator (`redaksi`), made once per prefix; its password in a file beside the demo's key."""
    settings = IngestSettings()
    password_file = run / f"demo-moderator.{settings.prefix}"
    if password_file.exists():
        return "redaksi", password_file
    password = secrets.token_urlsafe(12)
    engine = make_engine(settings, pool_size=1)
    try:
        with Session(engine) as session:
            accounts.add(session=session, newsroom=newsroom, username="redaksi", password=password)
    finally:
        engine.dispose()
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    return "redaksi", password_file
