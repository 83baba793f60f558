"""NIST NSRL RDSv3: the SQLite databases (minimal and full) of the Reference Data Set.

The minimal database has *tables* ``FILE(sha256, sha1, md5, crc32, file_name, file_size,
package_id)`` and ``PKG(package_id, name, version, operating_system_id, manufacturer_id,
language, application_type)``; the full one has normalised tables (``METADATA``,
``PACKAGE_OBJECT``...) and ``FILE``/``PKG`` as *views*. One query over ``FILE`` and ``PKG`` reads
both. The database is opened read-only (``mode=ro``) and streamed with ``fetchmany``.

* One record per row of ``FILE``: a hash listed in several packages gives several records,
  one per package, so a match names every product the file belongs to. ``source_id`` is
  the package id.
* ``PKG`` may hold several rows per package (per OS or language): one is kept per package
  (the smallest name and type, so files are never multiplied and the choice is stable).
* Hashes (upper-case hex) that are absent are skipped; an invalid one rejects the row, and so
  does a row without any hash. Position: ``row N of FILE``.
* ``product`` is the package name; the software flags of
  :func:`icarus.bank.software.flags_for_product` (name and application type) are attached.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from icarus.bank.formats.base import decode_text, parse_hash, parse_size, require_sniff
from icarus.bank.software import flags_for_product
from icarus.core.errors import CorruptInputError, FormatMismatchError, InvalidIdentifierError
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import SetKind
from icarus.domain.digests import Digest

SQLITE_MAGIC = b"SQLite format 3\x00"
BATCH = 10_000

QUERY = """
SELECT f.sha256, f.sha1, f.md5, f.file_name, f.file_size, f.package_id, p.name, p.application_type
FROM FILE AS f
LEFT JOIN (
    SELECT package_id, MIN(name) AS name, MIN(application_type) AS application_type
    FROM PKG GROUP BY package_id
) AS p ON p.package_id = f.package_id
"""
"""The one query for both shapes; the sub-select keeps one PKG row per package."""


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to the SQLite database at ``path`` (it is never written).

    Text is decoded as UTF-8, else Latin-1 (:func:`decode_text`): a vendor's file name in another
    encoding must not stop the whole database.
    """
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.text_factory = decode_text
    return db


def _has_file_table(path: Path) -> bool:
    try:
        db = connect_read_only(path)
    except sqlite3.Error:
        return False
    try:
        row = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') "
            "AND name = 'FILE' COLLATE NOCASE"
        ).fetchone()
    except sqlite3.Error:
        return False
    finally:
        db.close()
    return row is not None


class NsrlRds3Format:
    """NIST NSRL RDSv3 SQLite database (minimal or full)."""

    NAME = "nsrl-rds3"
    DESCRIPTION = "NIST NSRL RDSv3 SQLite database"
    DEFAULT_SCHEME = "nsrl"
    DEFAULT_KIND = SetKind.KNOWN

    def sniff(self, path: Path, head: bytes) -> bool:
        """True for a SQLite database with a ``FILE`` table or view (opens it read-only)."""
        return head.startswith(SQLITE_MAGIC) and _has_file_table(path)

    def read(self, path: Path, sink: RecordSink) -> Iterator[BankRecord]:
        """Stream the rows of ``FILE`` with their package (see the module doc)."""
        require_sniff(self, path)
        db = connect_read_only(path)
        try:
            try:
                cursor = db.execute(QUERY)
            except sqlite3.Error as exc:
                raise FormatMismatchError(
                    f"not an NSRL RDSv3 database: FILE and PKG cannot be read ({exc})", path=path
                ) from None
            number = 0
            while True:
                try:
                    rows = cursor.fetchmany(BATCH)
                except sqlite3.Error as exc:
                    raise CorruptInputError(
                        f"database error after row {number} of FILE: {exc}", path=path
                    ) from None
                if not rows:
                    break
                for row in rows:
                    number += 1
                    record = _record(row, number, sink)
                    if record is not None:
                        yield record
        finally:
            db.close()


def _record(row: tuple[object, ...], number: int, sink: RecordSink) -> BankRecord | None:
    sha256, sha1, md5, name, size, package_id, product, app_type = row
    where = f"row {number} of FILE"
    digests: list[Digest] = []
    try:
        for kind, value in (("md5", md5), ("sha1", sha1), ("sha256", sha256)):
            if isinstance(value, str) and value.strip():
                digests.append(parse_hash(kind, value))
            elif value not in (None, ""):
                raise InvalidIdentifierError(f"{kind} is not text: {value!r}")
        file_size = parse_size(size)
    except (InvalidIdentifierError, ValueError) as exc:
        sink.reject(where, str(exc), repr(row))
        return None
    if not digests:
        sink.reject(where, "no hash", repr(row))
        return None
    product_name = product if isinstance(product, str) and product else None
    product_type = app_type if isinstance(app_type, str) and app_type else None
    return BankRecord(
        digests=tuple(digests),
        size=file_size,
        name=name if isinstance(name, str) and name else None,
        flags=flags_for_product(product_name, product_type),
        source_id=None if package_id is None else str(package_id),
        product=product_name,
    )


FORMAT = NsrlRds3Format()
