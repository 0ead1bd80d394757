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
        "results_count": "{n} hasil",
        "no_results": "Tidak ada hasil.",
        "did_you_mean": "Mungkin maksud Anda",
        "not_found": "Halaman tidak ditemukan",
        "not_found_text": "Maaf, halaman yang Anda cari tidak ada. Coba cari beritanya atau kembali ke beranda.",
        "gone": "Artikel ini sudah tidak tersedia",
        "gone_text": "Artikel ini telah ditarik atau dihapus oleh redaksi.",
        "unavailable": "Layanan sedang sibuk",
        "unavailable_text": "Pencarian sedang tidak dapat dilayani. Silakan coba lagi sebentar lagi.",
        "error": "Terjadi kesalahan",
        "error_text": "Maaf, terjadi kesalahan di pihak kami. Silakan coba lagi.",
        "bad_request": "Permintaan tidak valid",
        "home": "Beranda",
        "latest": "Terbaru",
        "next": "Berikutnya",
        "previous": "Sebelumnya",
        "page_of": "Halaman {page} dari {pages}",
        "tags": "Topik",
        "tag": "Topik",
        "author": "Penulis",
        "section": "Rubrik",
        "source": "Sumber",
        "date": "Tanggal",
        "date_from": "Dari tanggal",
        "date_to": "Sampai tanggal",
        "any": "Semua",
        "filters": "Saring hasil",
        "apply": "Terapkan",
        "clear_filters": "Hapus saringan",
        "sort": "Urutkan",
        "sort_relevance": "Paling relevan",
        "sort_newest": "Terbaru",
        "updated": "Diperbarui",
        "correction": "Koreksi",
        "clarification": "Pembaruan",
        "corrections": "Koreksi dan pembaruan",
        "by": "Oleh",
        "sections": "Rubrik",
        "more": "Selengkapnya",
        "range_24h": "24 jam terakhir",
        "range_7d": "7 hari terakhir",
        "range_30d": "30 hari terakhir",
        "range_1y": "Setahun terakhir",
        "language": "English",
        "pagination": "Navigasi halaman",
    },
    "en": {
        "skip": "Skip to content",
        "search": "Search",
        "search_placeholder": "Search news…",
        "read_also": "Read also",
        "related": "Related stories",
        "results_for": "Search results for",
        "results_count": "{n} results",
        "no_results": "No results.",
        "did_you_mean": "Did you mean",
        "not_found": "Page not found",
        "not_found_text": "Sorry, the page you are looking for does not exist. Try searching or go to the home page.",
        "gone": "This article is no longer available",
        "gone_text": "The newsroom withdrew or deleted this article.",
        "unavailable": "Service busy",
        "unavailable_text": "Search is unavailable right now. Please try again shortly.",
        "error": "Something went wrong",
        "error_text": "Sorry, something went wrong on our side. Please try again.",
        "bad_request": "Invalid request",
        "home": "Home",
        "latest": "Latest",
        "next": "Next",
        "previous": "Previous",
        "page_of": "Page {page} of {pages}",
        "tags": "Topics",
        "tag": "Topic",
        "author": "Author",
        "section": "Section",
        "source": "Source",
        "date": "Date",
        "date_from": "From date",
        "date_to": "To date",
        "any": "Any",
        "filters": "Filter results",
        "apply": "Apply",
        "clear_filters": "Clear filters",
        "sort": "Sort by",
        "sort_relevance": "Most relevant",
        "sort_newest": "Newest",
        "updated": "Updated",
        "correction": "Correction",
        "clarification": "Update",
        "corrections": "Corrections and updates",
        "by": "By",
        "sections": "Sections",
        "more": "More",
        "range_24h": "Last 24 hours",
        "range_7d": "Last 7 days",
        "range_30d": "Last 30 days",
        "range_1y": "Last year",
        "language": "Bahasa Indonesia",
        "pagination": "Pagination",
    },
}


def resolve_locale(value: str | None, default: str = "id") -> str:
    return value if value in MESSAGES else default


def translator(locale: str) -> Callable[..., str]:
    """t("key") or t("key", n=3) for messages with placeholders."""
    table = MESSAGES.get(locale, MESSAGES["id"])

    def t(key: str, **values: object) -> str:
        text = table.get(key, MESSAGES["id"].get(key, key))
        return text.format(**values) if values else text

    return t
