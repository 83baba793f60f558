"""Export: VICS 2.0 (read back by the vics reader), CSV, md5sum; streaming; skipped entries."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from icarus.bank.export import CSV_HEADER, ExportRow, write_csv, write_md5sum, write_vics
from icarus.bank.formats.md5sum import FORMAT as MD5SUM
from icarus.bank.formats.vics import FORMAT as VICS
from icarus.bank.schemes import SCHEMES
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import Category, Severity
from tests.bank.formats.samples import ed2k, md5, pdq, photodna, sha1, sha256

FULL = BankRecord(
    digests=(md5(1), sha1(1), sha256(1), ed2k(1), pdq(1), photodna(1)), source_category="A",
    size=1234, name="dir/one, \"two\".jpg",
    flags=frozenset({"victim-identified", "distributed", "baseline"}), series="S-1",
    source_id="IMG-1", product=None,
)
ROWS = [
    ExportRow(FULL, Category.CSAM, Severity.HIGH),
    ExportRow(BankRecord(digests=(md5(2),)), Category.UNCATEGORISED, Severity.NONE),
    ExportRow(BankRecord(digests=(sha1(3),), name="no-md5.bin"), Category.CGI, Severity.NONE),
    ExportRow(BankRecord(digests=(md5(4),), name="line\nbreak\\x"), Category.COMPARISON,
              Severity.NONE),
    ExportRow(BankRecord(digests=(md5(5),)), Category.NON_PERTINENT, Severity.NONE),
]


def test_vics_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    sink = CollectingSink()
    with path.open("w", encoding="utf-8") as fh:
        assert write_vics(ROWS, fh, set_name="test set", sink=sink) == 4
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("entry 3", "no MD5: a VICS Media needs one")]
    records = list(VICS.read(path, CollectingSink()))
    exported = [r for r in ROWS if r.record.digest("md5")]
    assert [sorted(r.digests) for r in records] == [sorted(r.record.digests) for r in exported]
    scheme = SCHEMES.get("vics-us")
    assert [scheme.map(r.source_category, r.flags).category for r in records] == \
        [r.category for r in exported]
    assert records[0].name == FULL.name
    assert records[0].size == 1234
    assert records[0].series == "S-1"
    assert records[0].flags == frozenset({"victim-identified", "distributed"})


def test_vics_media_shape(tmp_path: Path) -> None:
    out = io.StringIO()
    write_vics(ROWS[:2], out, set_name="s")
    data = json.loads(out.getvalue())
    assert data["@odata.context"].endswith("/2.0.xml/Default/$metadata#Media")
    first, second = data["value"]
    assert first["MD5"] == md5(1).value.hex().upper()
    assert first["SHA1"] == sha1(1).value.hex().upper()
    assert first["Category"] == 1
    assert (first["VictimIdentified"], first["OffenderIdentified"]) == ("true", "false")
    assert {a["HashName"] for a in first["AlternativeHashes"]} == {"SHA256", "ED2K", "PDQ"}
    assert "Category" not in second
    assert [m["MediaID"] for m in data["value"]] == [1, 2]


def test_csv(tmp_path: Path) -> None:
    out = io.StringIO()
    assert write_csv(ROWS[:3], out) == 3
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == CSV_HEADER
    first = dict(zip(CSV_HEADER, rows[1], strict=True))
    assert first == {
        "md5": md5(1).value.hex(), "sha1": sha1(1).value.hex(), "sha256": sha256(1).value.hex(),
        "ed2k": ed2k(1).value.hex(), "pdq": pdq(1).value.hex(), "size": "1234",
        "name": 'dir/one, "two".jpg', "category": "csam", "severity": "high",
        "source_category": "A", "flags": "baseline|distributed|victim-identified",
        "series": "S-1", "source_id": "IMG-1", "product": "",
    }
    assert rows[3][0] == "" and rows[3][1] == sha1(3).value.hex()


def test_md5sum_round_trip_with_escaped_names(tmp_path: Path) -> None:
    path = tmp_path / "out.md5"
    sink = CollectingSink()
    with path.open("w", encoding="utf-8", newline="") as fh:
        assert write_md5sum(ROWS, fh, sink=sink) == 4
    assert [r.position for r in sink.rejects] == ["entry 3"]
    records = list(MD5SUM.read(path, CollectingSink()))
    assert [(r.digests, r.name) for r in records] == [
        ((md5(1),), FULL.name), ((md5(2),), "-"), ((md5(4),), "line\nbreak\\x"), ((md5(5),), "-")]


def test_writers_stream() -> None:
    out = io.StringIO()
    seen: list[int] = []

    def rows() -> Iterator[ExportRow]:
        for n in range(1, 4):
            if n > 1:
                # the previous entry is already written when the next one is asked for
                assert md5(n - 1).value.hex().upper() in out.getvalue()
            seen.append(n)
            yield ExportRow(BankRecord(digests=(md5(n),)), Category.CSAM, Severity.MEDIUM)

    write_vics(rows(), out, set_name="s")
    assert seen == [1, 2, 3]
