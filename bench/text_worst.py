"""Worst-case cost of each text function on adversarial input, next to its cost on real articles.

Every public function of shared/text.py runs each adversarial family (repeated pieces of its patterns,
every Unicode space, unclosed and nested markup, ...) at 1 KB, 10 KB, 100 KB and 500 KB. For each
function and size the table shows the costliest family: a linear function keeps µs per KB flat as the
size grows, a super-linear one grows with it. The same run measures corpus articles as the baseline;
with --baseline, a saved copy of shared/text.py (e.g. from before a change) is measured on the same
articles, next to the current one.

    python -m bench.text_worst [--quick] [--baseline /path/to/old/text.py] [--articles 300]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from harness.results import emit, print_table  # noqa: E402
from shared import corpora  # noqa: E402
from shared import text as current  # noqa: E402

BENCH = "text_worst"
KB = 1000
SPACES = "".join(sorted({c for c in map(chr, range(0x110000)) if c.isspace()} | {"\u200b", "\u2003", "\u3000"}))


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _attributes(size: int) -> str:
    return " ".join(f"a{i}" for i in range(size // 7))


# Each family builds a body of about `size` characters.
FAMILIES: dict[str, Callable[[int], str]] = {
    "share + em spaces": lambda n: "Share" + "\u2003" * n + "!",
    "share + every space": lambda n: "Bagikan ke:" + _fill(SPACES, n) + "!",
    "share + networks": lambda n: "Share this article on" + _fill(" Facebook,", n) + "!",
    "captcha digits": lambda n: _fill(" 1", n // 2) + " +" + _fill(" 1", n // 2) + "!",
    "unclosed <a": lambda n: _fill("<a", n),
    "unclosed <": lambda n: _fill("<", n),
    "baca juga + <a href": lambda n: "<p>Baca juga " + _fill('<a href="x" ', n),
    "baca juga + href=": lambda n: "<p>Baca juga <a " + _fill("href='x' ", n) + ">t",
    "baca juga repeated": lambda n: _fill("Baca juga ", n),
    "double escapes": lambda n: _fill("&amp;", n),
    "initials": lambda n: "(" + _fill("AB / ", n) + "!",
    "newlines + spaces": lambda n: _fill("\n \u2003\n", n) + "x",
    "nested <div>": lambda n: _fill("<div>", n),
    "nested <blockquote>": lambda n: _fill("<blockquote>", n),
    "<span> then stray ends": lambda n: _fill("<span>", n // 2) + _fill("</x>", n // 2),
    "one tag, many attributes": lambda n: "<p " + _attributes(n) + ">x",
    "bold re-opened per paragraph": lambda n: "".join(f"<p><b id={i}></p>" for i in range(n // 18)),
    "combining marks": lambda n: "a" + _fill("\u0301\u0316", n),
    "unclosed comment": lambda n: "<p>x</p><!--" + _fill("<p>", n),
    "paragraphs": lambda n: _fill("<p>Kata demi kata, berita hari ini.</p>", n),
}


def functions(text: ModuleType) -> dict[str, Callable[[str], Any]]:
    """The public functions of a shared/text.py module, each as a call on one string."""
    return {
        "clean_body": lambda b: text.clean_body(b, title=b[:300], section="Berita"),
        "sanitize_html": text.sanitize_html,
        "body_to_safe_html": lambda b: text.body_to_safe_html(body=b, paragraphs=None),
        "strip_tags": text.strip_tags,
        "looks_like_html": text.looks_like_html,
        "remove_boilerplate": text.remove_boilerplate,
        "html_paragraphs": text.html_paragraphs,
        "normalise_title": text.normalise_title,
        "slugify": text.slugify,
        "plain_text_to_html": text.plain_text_to_html,
        "strip_invalid_chars": text.strip_invalid_chars,
    }


def normal_calls(text: ModuleType, article: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The same functions on what they see of a real article in the pipeline."""
    paragraphs = article["body_paragraphs"]
    body_html = current.body_to_safe_html(body=None, paragraphs=paragraphs)
    plain = "\n\n".join(paragraphs)
    title, section = article["title"], article.get("section")
    return {
        "clean_body": lambda: text.clean_body(body_html, title=title, section=section),
        "sanitize_html": lambda: text.sanitize_html(body_html),
        "body_to_safe_html": lambda: text.body_to_safe_html(body=None, paragraphs=paragraphs),
        "strip_tags": lambda: text.strip_tags(body_html),
        "looks_like_html": lambda: text.looks_like_html(plain),
        "remove_boilerplate": lambda: text.remove_boilerplate(plain),
        "html_paragraphs": lambda: text.html_paragraphs(body_html),
        "normalise_title": lambda: text.normalise_title(title),
        "slugify": lambda: text.slugify(title),
        "plain_text_to_html": lambda: text.plain_text_to_html(plain),
        "strip_invalid_chars": lambda: text.strip_invalid_chars(plain),
    }


def timed(call: Callable[[], Any], repeat: int) -> float:
    """Best of `repeat` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def worst_cases(sizes: list[int]) -> list[dict[str, Any]]:
    """For each function and size, the family that cost the most."""
    rows = []
    for name, function in functions(current).items():
        for size in sizes:
            costs = {}
            for family, build in FAMILIES.items():
                body = build(size)
                costs[family] = (timed(lambda f=function, b=body: f(b), 1 if size > 100 * KB else 3), len(body))
            family, (seconds, length) = max(costs.items(), key=lambda item: item[1][0])
            us_per_kb = seconds * 1e6 / (length / KB)
            row = {"function": name, "size_kb": size // KB, "worst family": family, "seconds": seconds}
            rows.append({**row, "us_per_kb": us_per_kb})
        print(f"  {name}: done", flush=True)
    return rows


def normal_costs(modules: list[ModuleType], articles: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Mean µs per call of each function on the articles, for each module.

    The modules take turns on every call, so a machine getting busier or quieter during the run
    weighs on all of them alike.
    """
    totals: list[dict[str, float]] = [{} for _ in modules]
    for article in articles:
        calls = [normal_calls(text, article) for text in modules]
        for name in calls[0]:
            for total, module_calls in zip(totals, calls, strict=True):
                total[name] = total.get(name, 0.0) + timed(module_calls[name], 5)
    return [{name: value * 1e6 / len(articles) for name, value in total.items()} for total in totals]


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("text_baseline", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes up to 100 KB only")
    parser.add_argument("--articles", type=int, default=300, help="corpus articles for the baseline (default 300)")
    parser.add_argument("--baseline", type=Path, help="a saved shared/text.py to measure on the same articles")
    args = parser.parse_args()
    sizes = [1 * KB, 10 * KB, 100 * KB] + ([] if args.quick else [500 * KB])

    articles = [
        a
        for a in itertools.islice(corpora.load("all", corpora.raw_dir()), args.articles * 3)
        if a.get("body_paragraphs")
    ]
    articles = articles[:: max(1, len(articles) // args.articles)][: args.articles]  # from every corpus
    mean_kb = sum(len("\n\n".join(a["body_paragraphs"])) for a in articles) / len(articles) / KB
    print(f"baseline: {len(articles)} corpus articles, {mean_kb:.1f} KB of text each on average", flush=True)
    costs = normal_costs([current, *([load_module(args.baseline)] if args.baseline else [])], articles)
    normal, before = costs[0], costs[1] if args.baseline else {}

    print(f"worst cases at {', '.join(f'{s // KB} KB' for s in sizes)} ({len(FAMILIES)} families):", flush=True)
    rows = worst_cases(sizes)
    print_table(rows, ["function", "size_kb", "worst family", "seconds", "us_per_kb"], title="worst case per size")

    summary = []
    for name in functions(current):
        top = max((r for r in rows if r["function"] == name), key=lambda r: r["size_kb"])
        row = {
            "function": name,
            "worst family": top["worst family"],
            "size_kb": top["size_kb"],
            "worst_s": top["seconds"],
            "worst_us_per_kb": top["us_per_kb"],
            "article_us": normal[name],
            "article_us_before": before.get(name),
        }
        summary.append(row)
        emit(BENCH, f"{name}_worst_us_per_kb", round(top["us_per_kb"], 2), "us/KB", family=top["worst family"],
             size_kb=top["size_kb"], seconds=round(top["seconds"], 4))  # fmt: skip
        emit(BENCH, f"{name}_article_us", round(normal[name], 2), "us",
             before=round(before[name], 2) if name in before else None)  # fmt: skip
    columns = ["function", "worst family", "size_kb", "worst_s", "worst_us_per_kb", "article_us"]
    print_table(summary, columns + (["article_us_before"] if before else []), title="worst case vs a real article")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
