"""GNU coreutils ``md5sum`` / ``sha1sum`` / ``sha256sum`` output (and ``-c`` check files).

One line per file: the hex digest, a space, a mode character (space = text, ``*`` = binary),
then the name. A line that begins with ``\\`` has an escaped name: ``\\\\`` is a backslash,
``\\n`` a newline, ``\\r`` a carriage return (coreutils 9 also escapes it).

* The digest kind follows the hex length: 32 md5, 40 sha1, 64 sha256. All lines of one file must
  be of the kind of its first valid line; an odd line is rejected.
* Blank lines and lines starting with ``#`` are skipped (``md5sum -c`` ignores them too).
* Names are decoded as UTF-8, else Latin-1 (see :mod:`icarus.bank.formats.base`).

Sniffing: the first line that is not blank or a comment must be ``[\\]HEX`` of a valid length,
one space, a space or ``*``, and a non-empty name. A hash followed by anything else belongs to
``hashlist``.
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
from icarus.core.errors import InvalidIdentifierError
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import SetKind

LINE = re.compile(r"^(\\?)([0-9a-fA-F]+) ([ *])(.+)$", re.DOTALL)
"""escape marker, hex digest, mode, name."""

_UNESCAPE = {"\\": "\\", "n": "\n", "r": "\r"}


def is_md5sum_line(line: str) -> bool:
    """True if ``line`` is in md5sum syntax with a digest of a known length."""
    found = LINE.match(line)
    return found is not None and len(found.group(2)) in HEX_KIND_BY_LENGTH


def unescape_name(name: str) -> str:
    """The name of an escaped md5sum line; ValueError on an unknown escape."""
    out: list[str] = []
    chars = iter(name)
    for char in chars:
        if char != "\\":
            out.append(char)
            continue
        code = next(chars, "")
        if code not in _UNESCAPE:
            raise ValueError(f"unknown escape '\\{code}' in the name")
        out.append(_UNESCAPE[code])
    return "".join(out)


class Md5sumFormat:
    """GNU coreutils md5sum, sha1sum and sha256sum output."""

    NAME = "md5sum"
    DESCRIPTION = "md5sum / sha1sum / sha256sum output"
    DEFAULT_SCHEME = "uncategorised"
    DEFAULT_KIND = SetKind.ALERT

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if the first significant line of ``head`` is an md5sum line."""
        lines = significant_lines(head, limit=1)
        return bool(lines) and is_md5sum_line(lines[0])

    def read(self, path: Path, sink: RecordSink) -> Iterator[BankRecord]:
        """Stream the lines of an md5sum-style file (see the module doc)."""
        require_sniff(self, path)
        file_kind: str | None = None
        kind_line = 0
        for number, line in iter_lines(path):
            if not line.strip() or line.startswith("#"):
                continue
            where = f"line {number}"
            found = LINE.match(line)
            if found is None:
                sink.reject(where, "not a '<hash> <space or *><name>' line", line)
                continue
            escaped, hex_text, _mode, name = found.groups()
            kind = HEX_KIND_BY_LENGTH.get(len(hex_text))
            if kind is None:
                sink.reject(where, f"a {len(hex_text)}-character hash is not MD5, SHA-1 or "
                            "SHA-256", line)
                continue
            if file_kind is None:
                file_kind, kind_line = kind, number
            elif kind != file_kind:
                sink.reject(where, f"{kind} hash in a {file_kind} file (set by line "
                            f"{kind_line})", line)
                continue
            try:
                digest = parse_hash(kind, hex_text)
                if escaped:
                    name = unescape_name(name)
            except (InvalidIdentifierError, ValueError) as exc:
                sink.reject(where, str(exc), line)
                continue
            yield BankRecord(digests=(digest,), name=name)


FORMAT = Md5sumFormat()
