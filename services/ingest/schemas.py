"""Response bodies of the newsroom API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class AcceptedArticle(BaseModel):
    """What Kabar answers for one article write."""

    result: Literal["accepted", "unchanged"]
    uid: str
    external_id: str
    version: int
    revision: int
    status: str
    url: str | None = None
