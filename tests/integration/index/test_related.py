"""Related lists through the real worker: editors' links pinned first, computed links, freshness both ways."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from elasticsearch import Elasticsearch

from shared.es import IndexNames
from tests.integration.index.conftest import make_event, related_uids
from tests.stack import Proc, wait_until


def _story(nonce: str, angle: str) -> list[str]:
    # A nonce word makes these stories each other's closest neighbours in a shared test index.
    return [
        f"Banjir bandang melanda Desa {nonce} di Kabupaten Garut setelah hujan deras mengguyur sejak sore. {angle}",
        f"Warga {nonce} mengungsi ke balai desa, sementara tim SAR gabungan mencari korban hilang di sungai {nonce}.",
        f"Bupati Garut menetapkan status tanggap darurat banjir {nonce} selama tujuh hari.",
    ]


def test_older_article_gets_the_newer_one_in_its_list(
    es: Elasticsearch, names: IndexNames, worker: Proc, producer: Callable[..., None], unique: str
) -> None:
    nonce = f"zx{unique}"
    older = make_event(
        f"rel-a-{unique}",
        title=f"Banjir bandang terjang Desa {nonce}",
        paragraphs=_story(nonce, "Puluhan rumah terendam."),
        published_at=datetime.now(UTC) - timedelta(days=1),
    )
    producer([older])
    wait_until(lambda: related_uids(es, names, older.uid) is not None, timeout=20, what="older list computed")

    newer = make_event(
        f"rel-b-{unique}",
        title=f"Korban banjir bandang Desa {nonce} bertambah",
        paragraphs=_story(nonce, "Jumlah korban meninggal bertambah menjadi lima orang."),
    )
    producer([newer])
    wait_until(lambda: older.uid in (related_uids(es, names, newer.uid) or []), timeout=20, what="B lists A")
    # Freshness the other way: A's list was computed before B existed, and now shows B.
    wait_until(lambda: newer.uid in (related_uids(es, names, older.uid) or []), timeout=20, what="A lists B")
    for uid in (older.uid, newer.uid):
        assert uid not in related_uids(es, names, uid)  # type: ignore[operator]


def test_editors_links_are_pinned_first(
    es: Elasticsearch, names: IndexNames, worker: Proc, producer: Callable[..., None], unique: str
) -> None:
    nonce = f"qv{unique}"
    linked = make_event(
        f"pin-old-{unique}",
        title=f"Pemerintah umumkan subsidi pupuk {nonce} untuk petani",
        paragraphs=[f"Subsidi pupuk {nonce} diberikan kepada petani kecil di seluruh Jawa Tengah mulai bulan depan."],
        published_at=datetime.now(UTC) - timedelta(days=3),
    )
    producer([linked], related=False)
    wait_until(lambda: es.options(ignore_status=404).get(index=names.articles, id=linked.uid).get("found"), timeout=20)
    es.indices.refresh(index=names.articles)
    article = make_event(
        f"pin-new-{unique}",
        title=f"Harga gabah {nonce} turun",
        paragraphs=[
            f"Harga gabah di tingkat petani {nonce} turun tajam menjelang panen raya.",
            # A flat body: the linked title runs into the next sentence.
            f"Baca juga: Pemerintah umumkan subsidi pupuk {nonce} untuk petani Menteri menyebut harga akan pulih.",
            "Petani berharap pemerintah membeli gabah dengan harga pembelian pemerintah.",
        ],
    )
    producer([article])
    wait_until(lambda: related_uids(es, names, article.uid), timeout=20, what="list with the pinned link")
    items = es.get(index=names.related, id=article.uid)["_source"]["items"]
    assert items[0]["uid"] == linked.uid and items[0]["kind"] == "editor"
    assert [i["uid"] for i in items].count(linked.uid) == 1
    doc = es.get(index=names.articles, id=article.uid)["_source"]
    assert "subsidi pupuk" not in doc["body_text"]


def test_a_story_sharing_no_word_still_gets_its_sections_newest(
    es: Elasticsearch, names: IndexNames, worker: Proc, producer: Callable[..., None], unique: str
) -> None:
    # Words found in no other article: the first stage by wording finds nothing for these stories.
    def words(tag: str) -> str:
        return " ".join(f"q{tag}{unique}w{i}" for i in range(12))

    section = f"Galeri {unique}"
    earlier = [
        make_event(
            f"sec-{i}-{unique}",
            title=words(f"t{i}"),
            paragraphs=[words(f"b{i}")],
            section=section,
            published_at=datetime.now(UTC) - timedelta(hours=2 + i),
        )
        for i in range(2)
    ]
    producer(earlier)
    wait_until(lambda: all(related_uids(es, names, e.uid) is not None for e in earlier), timeout=30)
    photo = make_event(f"sec-new-{unique}", title=words("tn"), paragraphs=[words("bn")], section=section)
    producer([photo])
    wait_until(
        lambda: {e.uid for e in earlier} <= set(related_uids(es, names, photo.uid) or []),
        timeout=30,
        what="the section's newest stories in the list of a story that shares no word with them",
    )
