"""The image installs Kabar as a package (Dockerfile: `pip install --no-deps .`), not from the checkout, so
every file a service reads at run time besides its Python modules must be package data. A template folder
missing from pyproject.toml works in every local test and fails only in the container (the moderation
page's templates once did)."""

from __future__ import annotations

import tomllib
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
SKIPPED_SUFFIXES = {".py", ".pyc", ".md"}


def _patterns() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["setuptools"]["package-data"]


def _covered(path: Path, patterns: dict[str, list[str]]) -> bool:
    relative = path.relative_to(ROOT)
    for package, globs in patterns.items():
        base = Path(*package.split("."))
        if base in relative.parents:
            inner = PurePosixPath(relative.relative_to(base).as_posix())
            if any(_match(inner, g) for g in globs):
                return True
    return False


def _match(path: PurePosixPath, glob: str) -> bool:
    """setuptools' globs: "**" spans folders, "*" stays within one."""
    if "**" in glob:
        head = glob.split("**", 1)[0].rstrip("/")
        return not head or path.as_posix().startswith(head + "/")
    return len(path.parts) == len(PurePosixPath(glob).parts) and path.match(glob)


def test_every_runtime_file_of_the_services_is_package_data() -> None:
    patterns = _patterns()
    missing = [
        str(path.relative_to(ROOT))
        for folder in ("services", "shared")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix not in SKIPPED_SUFFIXES
        and "__pycache__" not in path.parts
        and not _covered(path, patterns)
    ]
    assert missing == [], f"add these to [tool.setuptools.package-data] in pyproject.toml: {missing}"
