"""ninjs 2.x → native article mapping."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.exceptions import RequestValidationError

from services.ingest.ninjs import NinjsIn, external_id_for, to_article
from shared.errors import json_pointer

DOC: dict[str, Any] = {
    "uri": "urn:newsml:kabar.id:20260529:banjir",
    "version": "3",
    "firstcreated": "2026-05-29T07:30:00+07:00",
    "versioncreated": "2026-05-29T09:00:00+07:00",
    "pubstatus": "usable",
    "language": "id",
    "headlines": [{"role": "sub", "value": "Ciliwung meluap"}, {"role": "main", "value": "Banjir rendam Jakarta"}],
    "bodies": [
        {"role": "main", "contenttype": "text/plain", "value": "Teks polos."},
        {"role": "main", "contenttype": "text/html", "value": "<p>Hujan deras.</p>"},
    ],
    "subjects": [{"name": "Metro", "rel": "section"}, {"name": "banjir"}, {"name": "Jakarta", "uri": "x:1"}],
    "by": "Rina Agustina",
    "people": [{"name": "Rina Agustina", "rel": "author"}, {"name": "Pramono Anung"}],
    "genres": [{"name": "news"}],
    "associations": {
        "featureimage": {
            "type": "picture",
            "uri": "https://img.kabar.id/banjir.jpg",
            "description_text": "Warga mengungsi",
            "copyrightnotice": "Kabar/RAG",
        },
        "graphic": {"type": "graphic", "renditions": {"original": {"href": "https://img.kabar.id/peta.png"}}},
        "video": {"type": "video", "uri": "https://vid.kabar.id/1.mp4"},
    },
    "x_cms_internal": {"a": 1},
    "foo": "bar",
}


def test_usable_item_maps_onto_native_fields() -> None:
    mapped = to_article(NinjsIn.model_validate(DOC))
    assert mapped.action == "upsert"
    article = mapped.article
    assert article is not None
    assert article.external_id == DOC["uri"]
    assert article.version == 3
    assert (article.title, article.dek) == ("Banjir rendam Jakarta", "Ciliwung meluap")
    assert article.body == "<p>Hujan deras.</p>"  # HTML preferred over plain text
    assert article.section == "Metro"
    assert article.tags == ["banjir", "Jakarta"]
    assert article.authors == ["Rina Agustina"] and article.byline == "Rina Agustina"
    assert article.published_at is not None and article.published_at.hour == 7
    assert article.updated_at is not None and article.updated_at.hour == 9
    assert [str(i.url) for i in article.images] == ["https://img.kabar.id/banjir.jpg", "https://img.kabar.id/peta.png"]
    assert (article.images[0].caption, article.images[0].credit) == ("Warga mengungsi", "Kabar/RAG")
    assert mapped.ignored == ["foo", "x_cms_internal"]  # genres is known ninjs, so not reported


def test_associations_as_array_and_headline_fallbacks() -> None:
    doc = {
        "uri": "u-1",
        "headline": "Judul 1.x",
        "body_text": "Isi",
        "associations": [{"type": "picture", "uri": "https://i/x.jpg", "headlines": [{"value": "Cap"}], "by": "AP"}],
    }
    article = to_article(NinjsIn.model_validate(doc)).article
    assert article is not None
    assert article.title == "Judul 1.x" and article.body == "Isi"
    assert (article.images[0].caption, article.images[0].credit) == ("Cap", "AP")


@pytest.mark.parametrize(("status", "action"), [("withheld", "withdraw"), ("canceled", "delete")])
def test_pubstatus_decides_the_action(status: str, action: str) -> None:
    mapped = to_article(NinjsIn.model_validate({"uri": "u-2", "pubstatus": status, "version": 4}))
    assert (mapped.action, mapped.article, mapped.version) == (action, None, 4)


def test_uri_that_is_not_an_external_id_is_hashed_stably() -> None:
    uri = "https://kabar.id/berita?id=1&x=2"
    assert external_id_for(uri) == external_id_for(uri)
    assert external_id_for(uri).startswith("ninjs-")
    assert external_id_for("urn:a:b") == "urn:a:b"


def test_invalid_item_points_into_the_ninjs_document() -> None:
    with pytest.raises(RequestValidationError) as info:
        to_article(NinjsIn.model_validate({"uri": "u-3", "bodies": [{"value": "x"}]}))
    assert [json_pointer(e["loc"]) for e in info.value.errors()] == ["/headlines"]
