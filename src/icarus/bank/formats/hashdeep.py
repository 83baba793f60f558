"""hashdeep (and md5deep -c style) audit files.

::

    %%%% HASHDEEP-1.0
    %%%% size,md5,sha256,filename
    ## Invoked from: /home/user
    ## $ hashdeep -r .
    ##
    1024,0123...,abcd...,/path/to/a file, with a comma.jpg

* The ``%%%%`` column line follows ``-c``: any of size, md5, sha1, sha256, tiger, whirlpool, and
  filename last. md5, sha1, sha256, size and the name are kept; tiger, whirlpool and columns
  Icarus does not know are ignored. A later ``%%%%`` column line (concatenated files) applies to
  the rows after it.
* File names may contain commas: rows are split into as many columns as the header has, the
  name taking the rest. Names are decoded as UTF-8, else Latin-1.
* ``##`` comments and blank lines are skipped. A row with a bad size or hash is rejected
  (hashdeep writes them itself: a bad one means a damaged line).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from icarus.bank.formats.base import (
    iter_lines,
    parse_hash,
    parse_size,
    require_sniff,
    significant_lines,
)
from icarus.core.errors import CorruptInputError, InputError, InvalidIdentifierError
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import SetKind
from icarus.domain.digests import Digest

MAGIC = "%%%% HASHDEEP-1.0"
HASH_COLUMNS = ("md5", "sha1", "sha256")
IGNORED_COLUMNS = ("tiger", "whirlpool")


def _columns(line: str, number: int, path: Path) -> list[str]:
    columns = [c.strip().lower() for c in line[4:].split(",")]
    if not columns or columns[-1] != "filename":
        raise CorruptInputError(f"line {number}: the column line must end with filename: "
                                f"{line!r}", path=path)
    if not any(c in HASH_COLUMNS for c in columns):
        raise InputError(f"line {number}: no md5, sha1 or sha256 column to import: {line!r}",
                         path=path)
    return columns


class HashdeepFormat:
    """hashdeep audit files (``%%%% HASHDEEP-1.0``)."""

    NAME = "hashdeep"
    DESCRIPTION = "hashdeep audit file"
    DEFAULT_SCHEME = "uncategorised"
    DEFAULT_KIND = SetKind.ALERT

    def sniff(self, path: Path, head: bytes) -> bool:
        """True if the first significant line of ``head`` is ``%%%% HASHDEEP-1.0``."""
        lines = significant_lines(head, limit=1)
        return bool(lines) and lines[0].upper() == MAGIC

    def read(self, path: Path, sink: RecordSink) -> Iterator[BankRecord]:
        """Stream the rows of a hashdeep file (see the module doc)."""
        require_sniff(self, path)
        columns: list[str] = []
        for number, line in iter_lines(path):
            if not line.strip() or line.startswith("##"):
                continue
            if line.startswith("%%%%"):
                if line.strip().upper() != MAGIC:
                    columns = _columns(line, number, path)
                    _warn_unknown(columns, number, sink)
                continue
            where = f"line {number}"
            if not columns:
                sink.reject(where, "row before the %%%% column line", line)
                continue
            record = _record(line, columns, where, sink)
            if record is not None:
                yield record


def _warn_unknown(columns: list[str], number: int, sink: RecordSink) -> None:
    known = (*HASH_COLUMNS, *IGNORED_COLUMNS, "size", "filename")
    unknown = [c for c in columns if c not in known]
    if unknown:
        sink.warn(f"line {number}", f"unknown columns ignored: {', '.join(unknown)}")


def _record(line: str, columns: list[str], where: str, sink: RecordSink) -> BankRecord | None:
    cells = line.split(",", maxsplit=len(columns) - 1)
    if len(cells) != len(columns):
        sink.reject(where, f"expected {len(columns)} columns, found {len(cells)}", line)
        return None
    digests: list[Digest] = []
    size: int | None = None
    try:
        for column, cell in zip(columns, cells, strict=True):
            if column in HASH_COLUMNS:
                digests.append(parse_hash(column, cell.strip()))
            elif column == "size":
                size = parse_size(cell.strip())
    except (InvalidIdentifierError, ValueError) as exc:
        sink.reject(where, str(exc), line)
        return None
    name = cells[-1]
    return BankRecord(digests=tuple(digests), size=size, name=name or None)


FORMAT = HashdeepFormat()
