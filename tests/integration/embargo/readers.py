"""Readers polling every path that can show a story, recording when each first showed it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from shared.text import slugify

View = Callable[[httpx.Client], bool]


@dataclass
class Story:
    """What the readers look for: the story's uid and path, a word only it (and its neighbour) carry."""

    uid: str
    path: str
    word: str
    title: str
    section_slug: str
    neighbour: str | None = None  # another article whose related list should show it once released


def letters(hexed: str) -> str:
    """A hex id as letters only: the title suggester's analyzer splits words at digits."""
    return "".join(chr(ord("a") + int(c, 16)) for c in hexed)


def section_slug(name: str) -> str:
    return slugify(name, max_length=40)


def views(story: Story, *, cached: bool) -> dict[str, View]:
    """Each reader path and how it shows the story. `cached`: only paths an edge may keep (search passes)."""

    def page(path: str, needle: str | None = None) -> View:
        def check(client: httpx.Client) -> bool:
            response = client.get(path)
            return response.status_code == 200 and (needle is None or needle in response.text)

        return check

    def found_in(path: str, params: dict[str, str], key: str, field_name: str = "uid") -> View:
        def check(client: httpx.Client) -> bool:
            response = client.get(path, params=params)
            return response.status_code == 200 and any(
                i.get(field_name) == story.uid for i in response.json().get(key, [])
            )

        return check

    out: dict[str, View] = {
        "article page": page(story.path),
        "api article": page(f"/api/v1/articles/{story.uid}"),
        "home": page("/", story.uid),
        "section": page(f"/{story.section_slug}", story.uid),
        "rss": page("/rss.xml", story.uid),
        "news sitemap": page("/sitemaps/news.xml", story.uid),
    }
    if story.neighbour:
        out["neighbour's related list"] = found_in(f"/api/v1/articles/{story.neighbour}/related", {}, "items")
    if not cached:
        out["search"] = found_in("/api/v1/search", {"q": story.word}, "results")
        out["suggestions"] = found_in("/api/v1/suggest", {"q": story.title[:12]}, "suggestions")
    return out


@dataclass
class Watch:
    """Polls views from a thread: for each, when it was first seen showing the story (by the end of the
    request that showed it, so a sighting at t means the server decided before t) and any error."""

    clients: dict[str, httpx.Client]
    views: dict[str, dict[str, View]]
    first_seen: dict[str, float] = field(default_factory=dict)
    polls: int = 0
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Watch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
        for client in self.clients.values():
            client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            for where, checks in self.views.items():
                for name, check in checks.items():
                    key = f"{where}: {name}"
                    if key in self.first_seen:
                        continue
                    try:
                        shown = check(self.clients[where])
                    except Exception as exc:  # recorded; a test asserts on errors
                        self.errors.append(f"{key}: {exc!r}")
                        continue
                    if shown:
                        self.first_seen[key] = time.time()
            self.polls += 1
            self._stop.wait(0.05)

    @property
    def all_keys(self) -> list[str]:
        return [f"{where}: {name}" for where, checks in self.views.items() for name in checks]

    def missing(self, keys: list[str] | None = None) -> list[str]:
        return [k for k in keys or self.all_keys if k not in self.first_seen]

    def early(self, release: float) -> dict[str, float]:
        """Views that showed the story before its release time, with how early (seconds)."""
        return {k: round(release - t, 3) for k, t in self.first_seen.items() if t < release}


def watch(story: Story, *, publish_url: str, edge_url: str | None) -> Watch:
    """Readers of publish itself and, when given, of the edge in front of it."""
    clients = {"publish": httpx.Client(base_url=publish_url, timeout=10)}
    views_by_place = {"publish": views(story, cached=False)}
    if edge_url:
        clients["edge"] = httpx.Client(base_url=edge_url, timeout=10, headers={"Accept-Encoding": "identity"})
        views_by_place["edge"] = views(story, cached=True)
    return Watch(clients=clients, views=views_by_place)
