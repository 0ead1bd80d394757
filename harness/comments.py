"""Posting a comment as a reader does, for tests and benches: the form page's CSRF cookie and token, and the
ALTCHA challenge solved in Python (the same search static/komentar.js runs in the browser) or the arithmetic
question readers without JavaScript answer."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from altcha import ChallengeV1, solve_challenge_v1
from lxml import html as lxml_html

from services.publish.comments.guard import CSRF_COOKIE, WORD_NUMBERS


@dataclass
class Form:
    fields: dict[str, str]  # the hidden fields: csrf, balas, altcha, soal
    challenge: dict[str, Any]
    question: str


def open_form(client: httpx.Client, uid: str, **params: str) -> Form:
    """GET the comment form of an article (sets the CSRF cookie on `client`)."""
    resp = client.get(f"/komentar/{uid}/tulis", params=params)
    resp.raise_for_status()
    return parse_form(resp.text)


def parse_form(page: str) -> Form:
    form = lxml_html.fromstring(page).xpath("//form[@id='comment-form']")[0]
    fields = {i.get("name"): i.get("value") or "" for i in form.xpath(".//input[@type='hidden']")}
    return Form(
        fields=fields,
        challenge=json.loads(form.get("data-altcha")),
        question=form.xpath(".//fieldset[@id='c-question']/label")[0].text_content(),
    )


def solve(challenge: dict[str, Any]) -> str:
    """What static/komentar.js puts in the altcha field."""
    solution = solve_challenge_v1(
        ChallengeV1(
            challenge["algorithm"],
            challenge["challenge"],
            challenge["maxNumber"],
            challenge["salt"],
            challenge["signature"],
        )
    )
    if solution is None:
        raise ValueError("the challenge has no solution within its maxNumber")
    payload = {k: challenge[k] for k in ("algorithm", "challenge", "salt", "signature")}
    return base64.b64encode(json.dumps({**payload, "number": solution.number}).encode()).decode()


def answer(question: str) -> str:
    """The arithmetic question's answer ("Berapa tujuh tambah tiga?" -> "10")."""
    match = re.fullmatch(r"Berapa (.+?) (tambah|kurang) (.+)\?", question)
    if not match:
        raise ValueError(question)
    a, op, b = WORD_NUMBERS[match.group(1)], match.group(2), WORD_NUMBERS[match.group(3)]
    return str(a + b if op == "tambah" else a - b)


def filled(form: Form, **extra: str) -> dict[str, str]:
    """The form as a reader sends it; `extra` overrides any field (altcha, komentar, nama, email...)."""
    return {
        **form.fields,
        "nama": "Siti Pembaca",
        "email": f"siti-{uuid.uuid4().hex[:8]}@contoh.id",  # the rules limit submissions per commenter
        "komentar": "Terima kasih atas beritanya.",
        "situs": "",
        **extra,
    }


def prepared_post(publish_url: str, uid: str, **extra: str) -> tuple[str, dict[str, str]]:
    """(CSRF cookie, form data) of one comment ready to POST, its proof of work already solved: what a reader
    has when they press send."""
    with httpx.Client(base_url=publish_url, timeout=30) as client:
        form = open_form(client, uid)
        return client.cookies[CSRF_COOKIE], filled(form, altcha=solve(form.challenge), **extra)
