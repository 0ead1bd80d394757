"""UI words, Indonesian first; English available with ?lang=en."""

from __future__ import annotations

from collections.abc import Callable

MESSAGES: dict[str, dict[str, str]] = {
    "id": {
        "skip": "Langsung ke isi",
        "search": "Cari",
        "search_placeholder": "Cari berita…",
        "read_also": "Baca juga",
        "related": "Berita terkait",
        "results_for": "Hasil pencarian untuk",
        "no_results": "Tidak ada hasil.",
        "not_found": "Halaman tidak ditemukan",
        "gone": "Artikel ini sudah tidak tersedia",
        "latest": "Terbaru",
        "next": "Berikutnya",
        "previous": "Sebelumnya",
        "tags": "Topik",
    },
    "en": {
        "skip": "Skip to content",
        "search": "Search",
        "search_placeholder": "Search news…",
        "read_also": "Read also",
        "related": "Related stories",
        "results_for": "Search results for",
        "no_results": "No results.",
        "not_found": "Page not found",
        "gone": "This article is no longer available",
        "latest": "Latest",
        "next": "Next",
        "previous": "Previous",
        "tags": "Topics",
    },
}


def translator(locale: str) -> Callable[[str], str]:
    table = MESSAGES.get(locale, MESSAGES["id"])
    return lambda key: table.get(key, MESSAGES["id"].get(key, key))
