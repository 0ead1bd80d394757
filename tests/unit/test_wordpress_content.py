"""WordPress content cleanup, WXR reading and mapping: examples, and linear time on adversarial content."""

from __future__ import annotations

import contextlib
import tracemalloc
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from defusedxml import DTDForbidden, EntitiesForbidden
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.wordpress import content, mapping, phpdata, wxr
from tests.unit.test_text_linear import PIECES, SIZES, Body, assert_within_budget

# ---- content -------------------------------------------------------------------------------------------


def test_block_comments_go_and_everything_between_them_stays() -> None:
    raw = '<!-- wp:paragraph -->\n<p>Satu</p>\n<!-- /wp:paragraph --><!-- wp:image {"id":5} --><!-- note -->'
    assert content.strip_block_comments(raw) == "\n<p>Satu</p>\n<!-- note -->"


def test_caption_becomes_a_figure_with_its_text() -> None:
    raw = '[caption id="attachment_7" align="alignnone" width="300"]<img src="https://x.id/a.jpg"> Foto: ANT[/caption]'
    assert (
        content.expand_shortcodes(raw)
        == '<figure><img src="https://x.id/a.jpg"><figcaption>Foto: ANT</figcaption></figure>'
    )


def test_old_caption_attribute_is_used_when_there_is_one() -> None:
    raw = '[caption caption="Lama"]<img src="a.jpg" />[/caption]'
    assert content.expand_shortcodes(raw) == '<figure><img src="a.jpg" /><figcaption>Lama</figcaption></figure>'


def test_embed_becomes_a_link_only_for_http_urls() -> None:
    assert content.expand_shortcodes("[embed]https://youtu.be/x?a=1&b=2[/embed]") == (
        '<p><a href="https://youtu.be/x?a=1&amp;b=2">https://youtu.be/x?a=1&amp;b=2</a></p>'
    )
    assert content.expand_shortcodes("[embed]javascript:alert(1)[/embed]") == ""


def test_players_and_galleries_drop_and_other_brackets_stay() -> None:
    raw = '[gallery ids="1,2"] [video src="a.mp4"][/video] [Foto: Antara] [1] a[b]c [[caption]] [/caption] [captionx]'
    assert content.expand_shortcodes(raw) == "  [Foto: Antara] [1] a[b]c [caption]  [captionx]"


def test_an_unclosed_caption_loses_only_its_tag() -> None:
    assert content.expand_shortcodes("[caption]<img src=a.jpg> teks") == "<img src=a.jpg> teks"


def test_classic_content_gets_paragraphs_and_block_content_is_left_alone() -> None:
    assert content.clean_content("Satu.\n\nDua\nbaris.") == "<p>Satu.</p><p>Dua<br>baris.</p>"
    assert content.clean_content("<!-- wp:paragraph --><p>Satu.</p><!-- /wp:paragraph -->") == "<p>Satu.</p>"


WP_PIECES = [
    "[", "]", "[/", "[caption", "[caption ", "[/caption]", "[embed]", "[/embed]", "[gallery", "[[", "]]",
    'caption="', "'", '"', "<!--", "-->", "<!-- wp:", "<!-- /wp:p -->", " wp:", "\n\n", "\r\n", "<p", "[video ",
]  # fmt: skip
wp_unit = st.lists(st.sampled_from(WP_PIECES + PIECES[:40]), min_size=1, max_size=4).map("".join)
wp_bodies = st.builds(
    Body,
    prefix=st.sampled_from(["", "[caption]", "<!--", "[embed]", '[caption caption="']),
    units=st.lists(wp_unit, min_size=1, max_size=2).map(tuple),
    size=st.one_of(st.sampled_from(SIZES), st.integers(1, 20_000)),
    suffix=st.sampled_from(["", "]", "[/caption]", "-->", "[/embed]"]),
)


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=wp_bodies)
def test_cleanup_stays_within_budget_on_adversarial_content(body: Body) -> None:
    value = body.text
    assert_within_budget("clean_content", lambda: content.clean_content(value), len(value))


@pytest.mark.parametrize(
    "raw",
    [
        "[caption " * 60_000,  # openings whose "]" never comes
        "[caption]" * 60_000 + "[/caption]" * 60_000,  # all openings first, all closings last
        "[/caption]" * 60_000 + "[caption]" * 60_000,
        "[" + "a" * 500_000,
        "<!--" * 100_000,
        "<!-- wp:" * 60_000 + "-->",
        "[[" * 200_000,
    ],
    ids=["open", "nested", "closing-first", "long-name", "comments", "unclosed-comments", "escapes"],
)
def test_worst_cases_stay_within_budget(raw: str) -> None:
    assert_within_budget("clean_content", lambda: content.clean_content(raw), len(raw))


# ---- WXR -----------------------------------------------------------------------------------------------

WXR_HEAD = """<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0" xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:wp="http://wordpress.org/export/1.2/">
<channel><title>Situs</title>
<wp:author><wp:author_id>1</wp:author_id><wp:author_login><![CDATA[rag]]></wp:author_login>
<wp:author_display_name><![CDATA[R. A. G.]]></wp:author_display_name></wp:author>
"""


def _item(post_id: int, *, post_type: str = "post", status: str = "publish", body: str = "Isi.", **extra: str) -> str:
    meta = "".join(
        f"<wp:postmeta><wp:meta_key>{k}</wp:meta_key><wp:meta_value>{v}</wp:meta_value></wp:postmeta>"
        for k, v in extra.items()
        if k.startswith("_")
    )
    attachment = f"<wp:attachment_url>{extra['url']}</wp:attachment_url>" if "url" in extra else ""
    return f"""<item><title>Judul {post_id} &amp; lain</title><link>https://situs.id/{post_id}/</link>
<dc:creator><![CDATA[rag]]></dc:creator>
<content:encoded><![CDATA[{body}]]></content:encoded>
<excerpt:encoded><![CDATA[{extra.get("excerpt", "")}]]></excerpt:encoded>
<wp:post_id>{post_id}</wp:post_id><wp:post_date_gmt>2024-05-01 03:04:05</wp:post_date_gmt>
<wp:post_modified_gmt>2024-05-02 03:04:05</wp:post_modified_gmt><wp:status>{status}</wp:status>
<wp:post_type>{post_type}</wp:post_type>{attachment}
<category domain="category" nicename="nasional"><![CDATA[Nasional &amp; Politik]]></category>
<category domain="post_tag" nicename="pemilu"><![CDATA[Pemilu]]></category>{meta}</item>
"""


def _write(path: Path, items: list[str]) -> Path:
    path.write_text(WXR_HEAD + "".join(items) + "</channel></rss>\n", encoding="utf-8")
    return path


def test_wxr_posts_map_to_articles_with_their_featured_image(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "a.xml",
        [
            _item(
                1, body="Satu.\n\n[caption]<img src='https://situs.id/a.jpg'> Foto: ANT[/caption]", _thumbnail_id="9"
            ),
            _item(9, post_type="attachment", status="inherit", url="https://situs.id/a.jpg", excerpt="Foto: ANT"),
            _item(2, status="draft"),
            _item(3, post_type="page"),
        ],
    )
    export = wxr.index(source)
    authors, attachments = export.authors, export.attachments
    items = list(wxr.iter_items(source))
    assert authors == {"rag": "R. A. G."}
    assert export.counts == {"post": 2, "attachment": 1, "page": 1}
    assert [(i.post_id, i.status) for i in items] == [(1, "publish"), (2, "draft")]
    article = mapping.from_wxr(items[0], authors=authors, attachments=attachments)
    assert article == {
        "external_id": "wp:1",
        "title": "Judul 1 & lain",
        "body": "<p>Satu.</p><figure><img src='https://situs.id/a.jpg'><figcaption>Foto: ANT</figcaption></figure>",
        "section": "Nasional & Politik",
        "tags": ["Pemilu"],
        "authors": ["R. A. G."],
        "published_at": "2024-05-01T03:04:05+00:00",
        "updated_at": "2024-05-02T03:04:05+00:00",
        "canonical_url": "https://situs.id/1/",
        "version": 1714619045 * 4 + 1,  # not the site's rendering (+2), published (+1)
        "images": [{"url": "https://situs.id/a.jpg", "caption": "Foto: ANT"}],
    }


def test_rest_and_wxr_give_the_same_article_for_the_same_post_and_the_site_rendering_wins(tmp_path: Path) -> None:
    source = _write(tmp_path / "a.xml", [_item(1, body="<p>Isi <b>tebal</b>.</p>", excerpt="<p>Dek</p>")])
    item = next(wxr.iter_items(source))
    rest = {
        "id": 1,
        "status": "publish",
        "date_gmt": "2024-05-01T03:04:05",
        "modified_gmt": "2024-05-02T03:04:05",
        "link": "https://situs.id/1/",
        "title": {"rendered": "Judul 1 &amp; lain"},
        "content": {"rendered": "<p>Isi <b>tebal</b>.</p>"},
        "excerpt": {"rendered": "<p>Dek</p>\n"},
        "_embedded": {
            "author": [{"name": "R. A. G."}],
            "wp:term": [
                [{"taxonomy": "category", "name": "Nasional &amp; Politik"}],
                [{"taxonomy": "post_tag", "name": "Pemilu"}],
            ],
        },
    }
    pulled = mapping.from_rest(rest)
    imported = mapping.from_wxr(item, authors={"rag": "R. A. G."}, attachments={})
    assert pulled.pop("version") > imported.pop("version")
    assert pulled == imported


def test_a_scheduled_post_is_embargoed_and_its_publication_is_a_newer_version() -> None:
    post = {"id": 4, "status": "future", "date_gmt": "2030-01-01T00:00:00", "modified_gmt": "2029-12-01T00:00:00"}
    post |= {"title": {"rendered": "Nanti"}, "content": {"rendered": "<p>x</p>"}}
    scheduled = mapping.from_rest(post)
    published = mapping.from_rest({**post, "status": "publish"})
    assert scheduled["embargo_until"] == "2030-01-01T00:00:00+00:00"
    assert "embargo_until" not in published
    assert published["version"] == scheduled["version"] + 1


def test_entities_and_dtds_are_refused_never_expanded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
        "<rss><channel><item><title>&b;</title></item></channel></rss>"
    )
    with pytest.raises((DTDForbidden, EntitiesForbidden)):
        list(wxr.iter_items(bomb))
    external = tmp_path / "external.xml"
    external.write_text('<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file:///etc/passwd"><rss><channel></channel></rss>')
    with pytest.raises(DTDForbidden):
        list(wxr.iter_items(external))


def _peak_while_reading(source: Path) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in wxr.iter_items(source))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_reading_holds_one_item_at_a_time(tmp_path: Path) -> None:
    body = escape("Paragraf panjang. " * 200)
    small = _write(tmp_path / "small.xml", [_item(i, body=body) for i in range(1, 201)])
    large = _write(tmp_path / "large.xml", [_item(i, body=body) for i in range(1, 4001)])  # 20x, ~15 MB
    small_count, small_peak = _peak_while_reading(small)
    large_count, large_peak = _peak_while_reading(large)
    assert (small_count, large_count) == (200, 4000)
    # Constant memory: twenty times the file, about the same peak (one item, the parser's buffers).
    assert large_peak < 2 * small_peak + 256 * 1024, (small_peak, large_peak)


# ---- image sizes ---------------------------------------------------------------------------------------

META = (
    'a:5:{s:5:"width";i:1200;s:6:"height";i:675;s:4:"file";s:18:"2026/11/kabar1.png";s:8:"filesize";i:9000;'
    's:5:"sizes";a:3:{s:9:"thumbnail";a:4:{s:4:"file";s:18:"kabar1-150x150.png";s:5:"width";i:150;s:6:"height";'
    'i:150;s:9:"mime-type";s:9:"image/png";}s:6:"medium";a:4:{s:4:"file";s:18:"kabar1-300x169.png";s:5:"width";'
    'i:300;s:6:"height";i:169;s:9:"mime-type";s:9:"image/png";}s:5:"large";a:4:{s:4:"file";s:19:"kabar1-1024x576.png";'
    's:5:"width";i:1024;s:6:"height";i:576;s:9:"mime-type";s:9:"image/png";}}}'
)
URL = "https://situs.id/wp-content/uploads/2026/11/kabar1.png"


def test_php_serialised_sizes_become_renditions_as_the_rest_api_lists_them() -> None:
    from_export = wxr.sizes_of(URL, META)
    assert [(r["width"], r["url"].rsplit("/", 1)[1]) for r in from_export] == [
        (150, "kabar1-150x150.png"),
        (300, "kabar1-300x169.png"),
        (1024, "kabar1-1024x576.png"),
        (1200, "kabar1.png"),
    ]
    folder = URL.rsplit("/", 1)[0]
    media = {
        "source_url": URL,
        "media_details": {
            "sizes": {
                "full": {"source_url": URL, "width": 1200, "height": 675},
                "large": {"source_url": f"{folder}/kabar1-1024x576.png", "width": 1024, "height": 576},
                "thumbnail": {"source_url": f"{folder}/kabar1-150x150.png", "width": 150, "height": 150},
                "medium": {"source_url": f"{folder}/kabar1-300x169.png", "width": 300, "height": 169},
            }
        },
    }
    post = {"id": 5, "status": "publish", "date_gmt": "2024-05-01T03:04:05", "title": {"rendered": "x"}}
    pulled = mapping.from_rest({**post, "_embedded": {"wp:featuredmedia": [media]}})
    assert pulled["images"][0]["renditions"] == from_export


@pytest.mark.parametrize(
    "bad",
    ['O:8:"stdClass":0:{}', 'a:1:{i:0;O:1:"X":0:{}}', 's:99:"short";', "a:2:{i:0;i:1;}", "i:1;junk", "x", ""],
)
def test_php_data_other_than_plain_values_is_refused(bad: str) -> None:
    with pytest.raises(phpdata.PhpDataError):
        phpdata.loads(bad)
    assert wxr.sizes_of(URL, bad) == []


@pytest.mark.parametrize(
    "raw",
    ["a:1:{" * 100_000, 's:1:"' * 100_000, "a:9999999:{" + "i:1;" * 100_000, "i:" + "1" * 500_000, META * 2_000],
    ids=["deep", "strings", "long-array", "long-int", "repeated"],
)
def test_php_data_is_read_in_linear_time(raw: str) -> None:
    def read() -> None:
        with contextlib.suppress(phpdata.PhpDataError):
            phpdata.loads(raw)

    assert_within_budget("phpdata.loads", read, len(raw))
