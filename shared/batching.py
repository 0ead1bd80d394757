"""Cutting a stream into lists of at most n items (Python 3.11 has no itertools.batched yet)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of `size` items (the last may be shorter), read lazily from any iterable."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk
