"""Where the bridge sends articles: Kabar's public ingest API, like any newsroom system (never a side door).

Bulk for creates and updates (one request per page of posts), the single-article routes for unpublish and
delete. A 2xx means Kabar holds the change durably, so a caller may move its cursor past it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from services.wordpress.http import BridgeHTTPError, request


@dataclass
class Tally:
    """What one run did, for the progress line and the closing summary."""

    accepted: int = 0
    unchanged: int = 0
    # Kabar holds a newer version already (an import after a pull, whose rendering ranks higher): not an error.
    superseded: int = 0
    rejected: int = 0
    unpublished: int = 0
    deleted: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.accepted += other.accepted
        self.unchanged += other.unchanged
        self.superseded += other.superseded
        self.rejected += other.rejected
        self.unpublished += other.unpublished
        self.deleted += other.deleted
        self.problems += other.problems[: max(0, 20 - len(self.problems))]  # a sample, not a log


class IngestSink:
    """A newsroom's view of Kabar's ingest API, with its key."""

    def __init__(self, client: httpx.Client, *, max_bulk_items: int = 500) -> None:
        self.client = client
        self.max_bulk_items = max_bulk_items

    def upsert(self, articles: list[dict[str, Any]]) -> Tally:
        tally = Tally()
        for start in range(0, len(articles), self.max_bulk_items):
            chunk = articles[start : start + self.max_bulk_items]
            response = request(self.client, "POST", "/v1/articles:bulk", json=chunk)
            if response.status_code not in (200, 202):
                raise BridgeHTTPError(f"bulk: {response.status_code} {response.text[:300]}")
            result = response.json()
            tally.accepted += result["accepted"]
            tally.unchanged += result["unchanged"]
            for item in result["items"]:
                if item["result"] != "rejected":
                    continue
                problem = item.get("problem") or {}
                stored = problem.get("stored_version")
                if problem.get("status") == 409 and stored and stored > (chunk[item["index"]].get("version") or 0):
                    tally.superseded += 1
                else:
                    tally.rejected += 1
                    tally.problems.append(item)
        return tally

    def _remove(self, external_id: str, *, delete: bool) -> bool:
        """True when Kabar took it; False when Kabar never had it or it is deleted already (nothing to do)."""
        path = f"/v1/articles/{quote(external_id, safe='')}"
        response = request(self.client, "DELETE", path) if delete else request(self.client, "POST", path + "/unpublish")
        if response.status_code in (404, 410):
            return False
        if response.status_code not in (200, 202):
            raise BridgeHTTPError(f"{'delete' if delete else 'unpublish'} {external_id}: {response.status_code}")
        return True

    def unpublish(self, external_id: str) -> bool:
        return self._remove(external_id, delete=False)

    def delete(self, external_id: str) -> bool:
        return self._remove(external_id, delete=True)
