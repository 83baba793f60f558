"""A plain list: one hash at the start of each line.

* Hex of 32 (md5), 40 (sha1) or 64 (sha256) characters; kinds may be mixed in one file.
* Leading whitespace is allowed; after the hash, a separator (whitespace, ``,``, ``;``, ``|``,
  ``:``) may start trailing text, which is ignored.
* Blank lines and lines starting with ``#`` are skipped.
* A hash may also be written with its kind, ``<kind>:<value>`` (``ed2k:31d6...``,
  ``btih:64ec...``, ``tth:LWPN...``): any exact kind of the registry, so lists can carry what
  plain hex cannot tell apart (an ed2k and an MD5 are both 32 hex characters).

Sniffing rule, so that the list does not take md5sum or hashdeep files: the first line that is
not blank or a comment must start with a hash of a valid length that is followed by the end of
the line or by a separator, and must NOT be an md5sum line (hash, one space, a space or ``*``,
a name). hashdeep files start with ``%%%%`` and are never claimed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from icarus.bank.formats.base import (
    HEX_KIND_BY_LENGTH,
    iter_lines,
    parse_hash,
    require_sniff,
    significant_lines,
)
from icarus.bank.formats.md5sum import is_md5sum_line
from icarus.core.errors import InvalidIdentifierError
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import SetKind

LINE = re.compile(r"^([0-9a-fA-F]+)(?:$|[\s,;|:])")
PREFIXED = re.compile(r"^([a-z][a-z0-9-]*):([^\s,;|]+)")
PREFIX_KINDS = frozenset({"md5", "sha1", "sha256", "ed2k", "tth", "aich", "btih", "btih-v2"})
"""Kinds a list may name: those with an exact index in the bank."""


def _hash_at_start(line: str) -> str | None:
    found = LINE.match(line)
    return found.group(1) if found else None


def _prefixed(line: str) -> tuple[str, str] | None:
    found = PREFIXED.match(line)
    if found and found.group(1) in PREFIX_KINDS:
        return found.group(1), found.group(2)
    return None


class HashlistFormat:
    """One hash per line (MD5, SHA-1 or SHA-256), comments and trailing text allowed."""

    NAME = "hashlist"
    DESCRIPTION = "hash list (one MD5, SHA-1 or SHA-256 per line)"
    DEFAULT_SCHEME = "uncategorised"
    DEFAULT_KIND = SetKind.ALERT

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if the first significant line of ``head`` starts with a hash and is not md5sum."""
        lines = significant_lines(head, limit=1)
        if not lines or is_md5sum_line(lines[0]):
            return False
        if _prefixed(lines[0]) is not None:
            return True
        hex_text = _hash_at_start(lines[0])
        return hex_text is not None and len(hex_text) in HEX_KIND_BY_LENGTH

    def read(self, path: Path, sink: RecordSink) -> Iterator[BankRecord]:
        """Stream the hashes of a list (see the module doc)."""
        require_sniff(self, path)
        for number, line in iter_lines(path):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            named = _prefixed(text)
            if named is not None:
                try:
                    yield BankRecord(digests=(parse_hash(*named),))
                except InvalidIdentifierError as exc:
                    sink.reject(f"line {number}", str(exc), line)
                continue
            hex_text = _hash_at_start(text)
            if hex_text is None:
                sink.reject(f"line {number}", "no hash at the start of the line", line)
                continue
            kind = HEX_KIND_BY_LENGTH.get(len(hex_text))
            if kind is None:
                sink.reject(f"line {number}", f"a {len(hex_text)}-character hash is not MD5, "
                            "SHA-1 or SHA-256", line)
                continue
            try:
                digest = parse_hash(kind, hex_text)
            except InvalidIdentifierError as exc:
                sink.reject(f"line {number}", str(exc), line)
                continue
            yield BankRecord(digests=(digest,))


FORMAT = HashlistFormat()
