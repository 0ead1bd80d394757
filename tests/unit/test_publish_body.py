"""The article body on the page is balanced HTML, wherever the inline "Baca juga" link goes between blocks."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.publish import views
from shared.text import sanitize_html, strip_tags

VOID = {"br", "hr", "img", "wbr"}
BLOCKS = ["p", "blockquote", "ul", "ol", "li", "h2", "h3", "figure", "figcaption", "table", "tr", "td", "pre"]
INLINE = ["strong", "em", "b", "i", "a", "span", "code", "q", "sub"]


class _Balance(HTMLParser):
    """Fails on an end tag that does not close the innermost open element, or on one left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()


def assert_balanced(html: str) -> None:
    parser = _Balance()
    parser.feed(html)
    parser.close()
    assert not parser.stack, f"left open: {parser.stack} in {html[:300]!r}"


def _page_body(body_html: str) -> str:
    """The body as the article template lays it out, with the inline related link after `inline_after`."""
    article = {"uid": "0123456789abcdef", "path": "/a/2026/01/01/x-0123456789abcdef", "body_html": body_html}
    related = [{"uid": "fedcba9876543210", "path": "/a/2026/01/01/y-fedcba9876543210", "title": "Lain"}]
    ctx = views.article_context(article, related, locale="id", base_url="http://x", site_name="Kabar")
    out = []
    for n, para in enumerate(ctx["paragraphs"], start=1):
        out.append(para)
        if n == ctx["inline_after"]:
            out.append('<p><a href="/y" rel="noopener noreferrer nofollow">Lain</a></p>')
    return "".join(out)


def _words(html: str) -> str:
    return "".join(strip_tags(html).split())


def test_text_less_end_tags_are_kept() -> None:
    body = (
        "<p>Pembuka berita.</p><blockquote><p>Kutipan satu.</p><p>Kutipan dua.</p></blockquote>"
        "<figure><img src='https://img.example.org/a.jpg'></figure><ul><li>satu</li><li>dua</li></ul><p>Penutup.</p>"
    )
    page = _page_body(body)
    assert_balanced(page)
    assert "<blockquote><p>Kutipan satu.</p><p>Kutipan dua.</p></blockquote>" in page
    assert '<img src="https://img.example.org/a.jpg">' in page  # a text-less block is not dropped either
    assert _words(page).replace("Lain", "", 1) == _words(body)


def _markup() -> st.SearchStrategy[str]:
    text = st.sampled_from(["kata", "dua kata", "a &amp; b", "x < y", "", " "])

    def nest(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.builds(
            lambda tag, inner, closed, attr: f"<{tag}{attr}>{''.join(inner)}" + (f"</{tag}>" if closed else ""),
            st.sampled_from(BLOCKS + INLINE),
            st.lists(children, max_size=4),
            st.booleans(),  # unclosed elements, as a CMS export may have them
            st.sampled_from(["", ' title="a>b"', " class=x", ' href="https://e.org/?a=1&b=2"']),
        )

    stray = st.sampled_from([f"</{t}>" for t in BLOCKS + INLINE] + ["<br>", "<hr>", "<img src=https://e.org/i.png>"])
    return st.recursive(text | stray, nest, max_leaves=30).map(str)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_markup(), min_size=1, max_size=6).map("".join))
def test_any_nested_markup_renders_balanced(body: str) -> None:
    page = _page_body(body)
    assert_balanced(page)
    for block in views.body_blocks(body):
        assert_balanced(block)  # so the inline link may go between any two of them
    # Nothing readers should see is lost.
    assert _words(page).replace("Lain", "", 1) == _words(sanitize_html(body))


def test_splitting_is_linear_on_hostile_markup() -> None:
    for body in ("<blockquote>" * 20_000, "<p title='" + "<a " * 20_000, "<b>x</b>" * 20_000):
        start = time.perf_counter()
        views.body_blocks(body)
        assert time.perf_counter() - start < 2.0
