"""PHP's serialize() format, read (never executed): WordPress exports an image's sizes that way
(`_wp_attachment_metadata`).

Only data types are read: arrays, strings, integers, floats, booleans and null. Objects (`O:`, `C:`) and
references are refused, so nothing in a hostile export names a class. One pass from left to right: every
string is length-prefixed, so no scan ever goes back, and nesting is bounded.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 16


class PhpDataError(ValueError):
    """Not PHP serialize() data of the supported types."""


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _until(self, stop: bytes) -> bytes:
        end = self.data.find(stop, self.pos)
        if end < 0:
            raise PhpDataError(f"expected {stop!r} after offset {self.pos}")
        value = self.data[self.pos : end]
        self.pos = end + len(stop)
        return value

    def _expect(self, token: bytes) -> None:
        if not self.data.startswith(token, self.pos):
            raise PhpDataError(f"expected {token!r} at offset {self.pos}")
        self.pos += len(token)

    def _int(self, stop: bytes) -> int:
        raw = self._until(stop)
        if not raw or len(raw) > 20 or not raw.lstrip(b"-").isdigit():
            raise PhpDataError(f"bad integer {raw[:20]!r}")
        return int(raw)

    def value(self, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise PhpDataError("nested too deep")
        kind = self.data[self.pos : self.pos + 2]
        if kind == b"N;":
            self.pos += 2
            return None
        self.pos += 2
        if kind == b"b:":
            return self._int(b";") != 0
        if kind == b"i:":
            return self._int(b";")
        if kind == b"d:":
            raw = self._until(b";")
            try:
                return float(raw)
            except ValueError as exc:
                raise PhpDataError(f"bad float {raw[:20]!r}") from exc
        if kind == b"s:":
            length = self._int(b":")
            self._expect(b'"')
            if length < 0 or self.pos + length > len(self.data):
                raise PhpDataError("string runs past the end")
            text = self.data[self.pos : self.pos + length]
            self.pos += length
            self._expect(b'";')
            return text.decode("utf-8", errors="replace")
        if kind == b"a:":
            count = self._int(b":")
            self._expect(b"{")
            if count < 0 or count > len(self.data) - self.pos:
                raise PhpDataError("bad array length")
            items: dict[Any, Any] = {}
            for _ in range(count):
                key = self.value(depth + 1)
                if not isinstance(key, int | str):
                    raise PhpDataError("array keys are integers or strings")
                items[key] = self.value(depth + 1)
            self._expect(b"}")
            return items
        raise PhpDataError(f"unsupported type {kind!r} at offset {self.pos - 2}")


def loads(text: str | bytes) -> Any:
    """The value a PHP serialize() string holds (PhpDataError for anything else)."""
    reader = _Reader(text.encode() if isinstance(text, str) else text)
    value = reader.value()
    if reader.pos != len(reader.data):
        raise PhpDataError("data after the value")
    return value
