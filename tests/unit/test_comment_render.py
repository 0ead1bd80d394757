"""The comment text renderer: escaped, only http(s) links (nofollow ugc), line breaks kept, bidi controls gone,
and linear on hostile input (Hypothesis, with generators aimed at the URL finder and the trailing trim)."""

from __future__ import annotations

import base64
import html
import json
import re
import time

import pytest
from altcha import ChallengeV1, create_challenge_v1, solve_challenge_v1
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html
from pydantic import SecretStr

from services.publish.comments.errors import FormExpired, NotAPerson
from services.publish.comments.guard import (
    WORD_NUMBERS,
    check_answer,
    check_csrf,
    check_pow,
    csrf_field,
    new_question,
    parse_answer,
    pow_challenge,
)
from services.publish.comments.text import clean_name, render_body
from tests.unit.test_text_linear import KB, assert_within_budget

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def _tree(markup: str) -> lxml_html.HtmlElement:
    return lxml_html.fragment_fromstring(f"<div>{markup}</div>")


def test_text_is_escaped_and_never_markup() -> None:
    out = render_body('<script>alert(1)</script><img src=x onerror="alert(2)"> & "kutip"')
    assert "<script" not in out and "<img" not in out
    assert _tree(out).text_content() == '<script>alert(1)</script><img src=x onerror="alert(2)"> & "kutip"'


def test_only_http_and_https_urls_become_links() -> None:
    out = render_body(
        "a https://contoh.id/berita?id=1&x=2. b javascript:alert(1) c data:text/html,x d HTTP://X.ID/A e ftp://f.id"
    )
    links = _tree(out).xpath("//a")
    assert [a.get("href") for a in links] == ["https://contoh.id/berita?id=1&x=2", "HTTP://X.ID/A"]
    assert all(a.get("rel") == "nofollow ugc noopener" for a in links)


def test_a_url_cannot_break_out_of_its_attribute() -> None:
    out = render_body('https://x.id/"onmouseover="alert(1) https://y.id/\'><b>z</b>')
    tree = _tree(out)
    assert not tree.xpath("//b")
    assert [a.get("href") for a in tree.xpath("//a")] == ["https://x.id/", "https://y.id/"]
    assert all(set(a.attrib) == {"href", "rel", "target"} for a in tree.xpath("//a"))


def test_brackets_and_trailing_punctuation() -> None:
    hrefs = [
        a.get("href")
        for a in _tree(
            render_body("(lihat https://id.wikipedia.org/wiki/Foo_(bar)) dan https://x.id/a, https://x.id/b!")
        ).xpath("//a")
    ]
    assert hrefs == ["https://id.wikipedia.org/wiki/Foo_(bar)", "https://x.id/a", "https://x.id/b"]
    assert "<a" not in render_body("https://... dan https://")


def test_line_breaks_are_kept_and_blank_runs_collapsed() -> None:
    out = render_body("satu\r\ndua\n\n\n\n\ntiga")
    assert out == "satu<br>\ndua<br>\n<br>\ntiga"


def test_bidi_controls_are_removed_from_names_and_bodies() -> None:
    assert clean_name(f"Ad{BIDI}min\n\tBudi") == "Admin Budi"
    out = render_body("harga \u202e001 Rp\u202c https://x.id/\u202egnp.exe")
    assert not any(ch in out for ch in BIDI)
    assert [a.get("href") for a in _tree(out).xpath("//a")] == ["https://x.id/gnp.exe"]


@given(st.text(alphabet=st.sampled_from(list("<>&\"' \n:/ahtps.()=" + BIDI + "j")), max_size=300))
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_renders_to_inert_html_that_reads_as_the_text(text: str) -> None:
    out = render_body(text)
    tree = _tree(out)
    assert {el.tag for el in tree.iter()} <= {"div", "a", "br"}
    for a in tree.xpath("//a"):
        assert re.match(r"(?i)https?://", a.get("href"))
        assert set(a.attrib) == {"href", "rel", "target"}
    assert not any(ch in out for ch in BIDI)
    # Nothing is lost but the controls, the carriage returns and runs of blank lines.
    expected = re.sub(r"\n{3,}", "\n\n", text.translate({ord(c): None for c in BIDI}).strip())
    shown = html.unescape(re.sub(r"<br>\n", "\n", re.sub(r"<a [^>]*>|</a>", "", out)))
    if all(len(a.text_content()) < 80 for a in tree.xpath("//a")):
        assert shown == expected


# ---- linear time on hostile shapes ---------------------------------------------------------------------

SHAPES = {
    "many schemes": "https://" * 40_000,
    "one long url": "https://x.id/" + "a" * 300 * KB,
    "closing brackets": "https://x.id/" + ")" * 300 * KB,
    "brackets both ways": "https://x.id/" + "()" * 150 * KB + ")" * 100 * KB,
    "trailing punctuation": "https://x.id/a" + ".,;:!?" * 50 * KB,
    "almost schemes": "http:/" * 50_000 + "htt" * 30_000,
    "entities": "<&>\"'" * 60 * KB,
    "bidi flood": BIDI * 30 * KB,
    "line breaks": "\r\n" * 150 * KB,
}


def test_hostile_shapes_render_in_linear_time() -> None:
    for name, text in SHAPES.items():
        assert_within_budget(f"render_body({name})", lambda text=text: render_body(text), len(text))


_PIECES = st.sampled_from(["https://", "http://", "x.id/", ")", "(", ".", "\n", "\r", "\u202e", "a", " ", "<", "&"])


@given(st.lists(st.tuples(_PIECES, st.integers(1, 5_000)), min_size=1, max_size=8))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_generated_hostile_runs_render_in_linear_time(runs: list[tuple[str, int]]) -> None:
    text = "".join(piece * count for piece, count in runs)
    assert_within_budget("render_body", lambda: render_body(text), len(text))


# ---- the arithmetic question ---------------------------------------------------------------------------


def test_questions_are_sums_in_words_and_answers_checked_against_the_token() -> None:
    key = SecretStr("k" * 32)
    for _ in range(50):
        q = new_question(key, now=1_700_000_000)
        match = re.fullmatch(r"Berapa (.+?) (tambah|kurang) (.+)\?", q.text)
        assert match
        a, b = WORD_NUMBERS[match.group(1)], WORD_NUMBERS[match.group(3)]
        right = a + b if match.group(2) == "tambah" else a - b
        assert 0 <= right <= 20
        # Issued time, nonce and a MAC: the answer itself is nowhere in the page.
        assert re.fullmatch(r"1700000000\.[0-9a-f]{16}\.[0-9a-f]{64}", q.token)
    assert parse_answer(" Dua  Belas ") == 12 and parse_answer("7") == 7 and parse_answer("tujuh") == 7
    assert parse_answer("delapan belas") == 18 and parse_answer("tiga puluh") is None


def test_a_right_answer_passes_once_the_form_is_old_enough() -> None:
    key = SecretStr("k" * 32)
    q = new_question(key, now=time.time() - 10)
    match = re.fullmatch(r"Berapa (.+?) (tambah|kurang) (.+)\?", q.text)
    assert match
    a, b = WORD_NUMBERS[match.group(1)], WORD_NUMBERS[match.group(3)]
    right = a + b if match.group(2) == "tambah" else a - b
    assert check_answer(key, token=q.token, answer=str(right), ttl=3600, min_seconds=3).key.startswith("soal:")
    with pytest.raises(NotAPerson):
        check_answer(key, token=q.token, answer=str(right + 1), ttl=3600, min_seconds=3)
    with pytest.raises(NotAPerson):
        check_answer(key, token=q.token, answer=str(right), ttl=3600, min_seconds=30)
    with pytest.raises(FormExpired):
        check_answer(key, token=q.token, answer=str(right), ttl=5, min_seconds=3)
    with pytest.raises(NotAPerson):
        check_answer(SecretStr("other" * 8), token=q.token, answer=str(right), ttl=3600, min_seconds=3)


# ---- proof of work and CSRF tokens -----------------------------------------------------------------------


def _solved(challenge: dict, **override: object) -> str:

    c = ChallengeV1(
        challenge["algorithm"],
        challenge["challenge"],
        challenge["maxNumber"],
        challenge["salt"],
        challenge["signature"],
    )
    solution = solve_challenge_v1(c)
    assert solution is not None
    payload = {**{k: challenge[k] for k in ("algorithm", "challenge", "salt", "signature")}, "number": solution.number}
    return base64.b64encode(json.dumps({**payload, **override}).encode()).decode()


def test_a_solved_challenge_passes_and_a_tampered_one_does_not() -> None:
    key = SecretStr("k" * 32)
    challenge = pow_challenge(key, max_number=2000, ttl=60)
    spent = check_pow(key, _solved(challenge))
    assert spent.key == f"pow:{challenge['signature']}" and 0 < spent.ttl <= 62
    for bad in (
        _solved(challenge, number=-1),
        _solved(challenge, algorithm="SHA-1"),
        _solved(pow_challenge(SecretStr("x" * 32), max_number=2000, ttl=60)),
        "bm90IGpzb24=",
        "!!!",
        "A" * 5000,
    ):
        with pytest.raises(NotAPerson):
            check_pow(key, bad)
    # Signed with the right key but with no expiry: not one Kabar made, refused (it could be replayed forever).
    forever = create_challenge_v1(hmac_key=key.get_secret_value(), max_number=2000).to_dict()
    with pytest.raises(NotAPerson):
        check_pow(key, _solved(forever))


def test_csrf_tokens_are_bound_to_their_cookie_and_expire() -> None:
    key = SecretStr("k" * 32)
    token = csrf_field(key, "cookie-a")
    check_csrf(key, cookie="cookie-a", field=token, ttl=60)
    for cookie, field in (("cookie-b", token), (None, token), ("cookie-a", None), ("cookie-a", "x.y")):
        with pytest.raises(NotAPerson):
            check_csrf(key, cookie=cookie, field=field, ttl=60)
    with pytest.raises(FormExpired):
        check_csrf(key, cookie="cookie-a", field=csrf_field(key, "cookie-a", now=time.time() - 120), ttl=60)
