"""docs/settings.md lists every KABAR_* knob the repository reads, and is current."""

from __future__ import annotations

import re
import subprocess

from scripts import settings_reference

KNOB = re.compile(r"\bKABAR_[A-Z0-9_]+\b")


def test_the_reference_is_current() -> None:
    assert settings_reference.REFERENCE.read_text() == settings_reference.render(), (
        "docs/settings.md is stale: run python -m scripts.settings_reference"
    )


def test_every_knob_used_anywhere_is_in_the_reference() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.py", "*.sh", "*.yml", "*.yaml", "Makefile", "*.example", ".ci/run"],
        cwd=settings_reference.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    used: dict[str, str] = {}
    for path in tracked:
        for name in KNOB.findall((settings_reference.ROOT / path).read_text(errors="replace")):
            used.setdefault(name, path)
    missing = {name: path for name, path in used.items() if name not in settings_reference.known()}
    assert not missing, f"KABAR_* knobs read but not in docs/settings.md: {missing}"
