"""A small bencode decoder that also records where the top-level ``info`` value lies.

The v1 infohash is the SHA-1 of the ``info`` dictionary exactly as the file holds it, so its raw
byte span is needed, not a re-encoding. fastbencode refuses dictionaries whose keys are out of
order, which real torrents have, and recurses without a bound; this decoder keeps keys in file
order and limits nesting.
"""

from __future__ import annotations

import re

from icarus.core.errors import InvalidIdentifierError

_Dict = dict[bytes, object]


_MAX_DEPTH = 128
_INT = re.compile(rb"i(0|-?[1-9][0-9]{0,39})e")
_LEN = re.compile(rb"(0|[1-9][0-9]{0,11}):")


def decode_with_info_span(data: bytes, source: str) -> tuple[object, tuple[int, int] | None]:
    """Decode bencoded ``data``; also the byte span of the top-level dictionary's ``info``."""
    decoder = _Decoder(data, source)
    value = decoder.value(0)
    if data[decoder.pos :].strip():
        raise decoder.error("data after the end of the torrent")
    return value, decoder.info_span


class _Decoder:
    def __init__(self, data: bytes, source: str) -> None:
        self.data, self.source, self.pos = data, source, 0
        self.info_span: tuple[int, int] | None = None

    def error(self, problem: str) -> InvalidIdentifierError:
        return InvalidIdentifierError(f"not valid bencode: {problem} at byte {self.pos}",
                                      path=self.source)

    def value(self, depth: int) -> object:
        if depth > _MAX_DEPTH:
            raise self.error(f"nested more than {_MAX_DEPTH} deep")
        lead = self.peek()
        if lead == b"i":
            match = _INT.match(self.data, self.pos)
            if not match:
                raise self.error("malformed integer")
            self.pos = match.end()
            return int(match.group(1))
        if lead.isdigit():
            match = _LEN.match(self.data, self.pos)
            end = match.end() + int(match.group(1)) if match else 0
            if not match or end > len(self.data):
                raise self.error("malformed or truncated string")
            self.pos = end
            return self.data[match.end() : end]
        if lead not in (b"l", b"d"):
            raise self.error(f"unexpected byte {lead!r}")
        self.pos += 1
        items: list[object] = []
        mapping: _Dict = {}
        while self.peek() != b"e":
            if lead == b"l":
                items.append(self.value(depth + 1))
                continue
            if not self.peek().isdigit():
                raise self.error("dictionary key is not a string")
            key = self.value(depth + 1)
            assert isinstance(key, bytes)
            if key in mapping:
                raise self.error(f"duplicate key {key[:40]!r}")
            start = self.pos
            mapping[key] = self.value(depth + 1)
            if depth == 0 and key == b"info":
                self.info_span = (start, self.pos)
        self.pos += 1
        return items if lead == b"l" else mapping

    def peek(self) -> bytes:
        if self.pos >= len(self.data):
            raise self.error("unexpected end of data")
        return self.data[self.pos : self.pos + 1]
