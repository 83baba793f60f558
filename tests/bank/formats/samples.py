"""Shared test data for the hash-set format tests: fixture paths, hashes, RDSv3 databases.

Hashes are of the ASCII strings ``icarus-test-<n>`` (as in tests/fixtures/bank/make_fixtures.py).
The RDSv3 databases are built here, in SQLite, in the two shapes NIST publishes: the *minimal*
one with tables FILE/PKG/MFG/OS/VERSION, and the *full* one with normalised tables and
FILE/PKG/MFG/OS as views (a reconstruction of the shape, not NIST's exact DDL).
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from icarus.domain.digests import Digest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "bank"


def md5(n: int) -> Digest:
    """The md5 digest of ``icarus-test-<n>``."""
    return Digest("md5", hashlib.md5(f"icarus-test-{n}".encode(), usedforsecurity=False).digest())


def sha1(n: int) -> Digest:
    """The sha1 digest of ``icarus-test-<n>``."""
    return Digest("sha1", hashlib.sha1(f"icarus-test-{n}".encode(), usedforsecurity=False).digest())


def sha256(n: int) -> Digest:
    """The sha256 digest of ``icarus-test-<n>``."""
    return Digest("sha256", hashlib.sha256(f"icarus-test-{n}".encode()).digest())


def photodna(n: int) -> Digest:
    """The synthetic PhotoDNA-shaped value of the fixtures."""
    return Digest("photodna", hashlib.shake_256(f"icarus-photodna-{n}".encode()).digest(144))


def ed2k(n: int) -> Digest:
    """The synthetic ed2k-shaped value of the fixtures."""
    return Digest("ed2k", hashlib.md5(f"icarus-ed2k-{n}".encode(), usedforsecurity=False).digest())


def pdq(n: int) -> Digest:
    """The synthetic PDQ-shaped value of the fixtures."""
    return Digest("pdq", hashlib.sha256(f"icarus-pdq-{n}".encode()).digest())


# package id, name, version, application type; eMule is listed in two languages (two PKG rows)
PACKAGES = [
    (1, "eMule", "0.50a", "P2P", ("English", "German")),
    (2, "Microsoft Office", "2019", "Office", ("English",)),
    (3, "CCleaner", "6.0", "Utility", ("English",)),
]
# fixture number, file name, size, package id; hash 94 is in two packages
FILES = [(91, "emule.exe", 2_949_120, 1), (92, "winword.exe", 1_000_000, 2),
         (93, "CCleaner64.exe", 500_000, 3), (94, "msvcr100.dll", 770_000, 1),
         (94, "msvcr100.dll", 770_000, 2)]

_VERSION = """CREATE TABLE VERSION (version TEXT, build_set TEXT, build_date TEXT,
    release_date TEXT, description TEXT);
INSERT INTO VERSION VALUES ('2024.03.1', 'modern', '2024-03-01', '2024-03-15', 'test build');"""


def _hex(digest: Digest) -> str:
    return digest.value.hex().upper()


def build_rds3_minimal(path: Path, files: list[tuple[int, str, int, int]] | None = None,
                       raw_rows: list[tuple[object, ...]] | None = None) -> Path:
    """A minimal-shape RDSv3 database: FILE and PKG are tables."""
    db = sqlite3.connect(path)
    db.executescript(_VERSION)
    db.executescript("""
        CREATE TABLE MFG (manufacturer_id INTEGER, name TEXT);
        CREATE TABLE OS (operating_system_id INTEGER, name TEXT, version TEXT,
            manufacturer_id INTEGER);
        CREATE TABLE PKG (package_id INTEGER, name TEXT, version TEXT,
            operating_system_id INTEGER, manufacturer_id INTEGER, language TEXT,
            application_type TEXT);
        CREATE TABLE FILE (sha256 TEXT NOT NULL, sha1 TEXT NOT NULL, md5 TEXT NOT NULL,
            crc32 TEXT NOT NULL, file_name TEXT NOT NULL, file_size INTEGER NOT NULL,
            package_id INTEGER NOT NULL,
            PRIMARY KEY (sha256, sha1, md5, crc32, file_name, file_size, package_id));
        CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
        INSERT INTO MFG VALUES (1, 'Test Manufacturer');
        INSERT INTO OS VALUES (1, 'Windows', '10', 1);
    """)
    for pid, name, version, app_type, languages in PACKAGES:
        for language in languages:
            db.execute("INSERT INTO PKG VALUES (?, ?, ?, 1, 1, ?, ?)",
                       (pid, name, version, language, app_type))
    for n, file_name, size, pid in files if files is not None else FILES:
        db.execute("INSERT INTO FILE VALUES (?, ?, ?, '0000ABCD', ?, ?, ?)",
                   (_hex(sha256(n)), _hex(sha1(n)), _hex(md5(n)), file_name, size, pid))
    for row in raw_rows or []:
        db.execute("INSERT INTO FILE VALUES (?, ?, ?, ?, ?, ?, ?)", row)
    db.commit()
    db.close()
    return path


def build_rds3_full(path: Path) -> Path:
    """A full-shape RDSv3 database: normalised tables, FILE/PKG/MFG/OS are views."""
    db = sqlite3.connect(path)
    db.executescript(_VERSION)
    db.executescript("""
        CREATE TABLE MANUFACTURER (manufacturer_id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE OPERATING_SYSTEM (operating_system_id INTEGER PRIMARY KEY, name TEXT,
            version TEXT, manufacturer_id INTEGER);
        CREATE TABLE PACKAGE (package_id INTEGER PRIMARY KEY, name TEXT, version TEXT,
            application_type TEXT, operating_system_id INTEGER, manufacturer_id INTEGER);
        CREATE TABLE LANGUAGE (language_id INTEGER PRIMARY KEY, name TEXT);
        CREATE TABLE PACKAGE_LANGUAGE (package_id INTEGER, language_id INTEGER);
        CREATE TABLE PACKAGE_OBJECT (package_id INTEGER, object_id INTEGER);
        CREATE TABLE METADATA (object_id INTEGER PRIMARY KEY, path TEXT, file_name TEXT,
            extension TEXT, bytes INTEGER, mtime INTEGER, crc32 TEXT, md5 TEXT, sha1 TEXT,
            sha256 TEXT);
        CREATE VIEW FILE AS SELECT UPPER(m.sha256) AS sha256, UPPER(m.sha1) AS sha1,
            UPPER(m.md5) AS md5, m.file_name AS file_name, m.bytes AS file_size,
            po.package_id AS package_id
            FROM METADATA AS m JOIN PACKAGE_OBJECT AS po ON po.object_id = m.object_id;
        CREATE VIEW PKG AS SELECT p.package_id, p.name, p.version, p.operating_system_id,
            p.manufacturer_id, l.name AS language, p.application_type
            FROM PACKAGE AS p LEFT JOIN PACKAGE_LANGUAGE AS pl ON pl.package_id = p.package_id
            LEFT JOIN LANGUAGE AS l ON l.language_id = pl.language_id;
        CREATE VIEW MFG AS SELECT manufacturer_id, name FROM MANUFACTURER;
        CREATE VIEW OS AS SELECT operating_system_id, name, version, manufacturer_id
            FROM OPERATING_SYSTEM;
        INSERT INTO MANUFACTURER VALUES (1, 'Test Manufacturer');
        INSERT INTO OPERATING_SYSTEM VALUES (1, 'Windows', '10', 1);
    """)
    languages: dict[str, int] = {}
    for pid, name, version, app_type, names in PACKAGES:
        db.execute("INSERT INTO PACKAGE VALUES (?, ?, ?, ?, 1, 1)", (pid, name, version, app_type))
        for language in names:
            lid = languages.setdefault(language, len(languages) + 1)
            db.execute("INSERT OR IGNORE INTO LANGUAGE VALUES (?, ?)", (lid, language))
            db.execute("INSERT INTO PACKAGE_LANGUAGE VALUES (?, ?)", (pid, lid))
    objects: dict[int, int] = {}
    for n, file_name, size, pid in FILES:
        if n not in objects:
            objects[n] = len(objects) + 1
            # METADATA keeps lower-case hex; the FILE view upper-cases it, as NIST's does
            db.execute("INSERT INTO METADATA VALUES (?, ?, ?, ?, ?, 0, '0000abcd', ?, ?, ?)",
                       (objects[n], f"C:/app/{file_name}", file_name, file_name.rsplit(".")[-1],
                        size, md5(n).value.hex(), sha1(n).value.hex(), sha256(n).value.hex()))
        db.execute("INSERT INTO PACKAGE_OBJECT VALUES (?, ?)", (pid, objects[n]))
    db.commit()
    db.close()
    return path
