"""The VICS reader: 1.x and 2.0, hash sets and cases, rejects, corrupt and foreign files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from icarus.bank.formats.vics import FORMAT, read_envelope
from icarus.core.errors import CorruptInputError, FormatMismatchError
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from tests.bank.formats.samples import FIXTURES, ed2k, md5, pdq, photodna, sha1, sha256

VICS = FIXTURES / "vics"
V2_MEDIA = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media"


def _read(path: Path) -> tuple[list[BankRecord], CollectingSink]:
    sink = CollectingSink(str(path))
    return list(FORMAT.read(path, sink)), sink


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_hash_set_2_0() -> None:
    records, sink = _read(VICS / "hashset-2.0.json")
    assert len(records) == 3
    assert records[0] == BankRecord(
        digests=(md5(1), sha1(1)), source_category="1", size=36885, name="one.jpg",
        flags=frozenset({"victim-identified", "distributed"}), series="Series-X", source_id="1",
    )
    assert [r.source_category for r in records] == ["1", "0", None]
    assert sink.rejects == [] and sink.warnings == []


def test_hash_set_1_2_ignores_odata_keys_and_takes_strings() -> None:
    records, sink = _read(VICS / "hashset-1.2.json")
    assert records == [
        BankRecord(digests=(md5(4),), source_category="2", size=1024, source_id="1"),
        BankRecord(digests=(md5(5),), source_category="4", source_id="2"),
    ]
    assert sink.warnings == []


def test_case_1_3() -> None:
    records, _ = _read(VICS / "case-1.3.json")
    assert records == [BankRecord(digests=(md5(6),), source_category="3",
                                  flags=frozenset({"suspected"}), source_id="7")]


def test_case_2_0_us_reads_the_media_of_every_case() -> None:
    records, _ = _read(VICS / "case-2.0-us.json")
    assert [r.source_id for r in records] == ["1", "2", "3"]
    assert records[0].digests == (md5(7), sha1(7))
    assert records[1] == BankRecord(digests=(md5(8),), name="d-e.jpg", source_id="2")
    assert records[2].source_category == "2"


def test_case_2_0_uk_keeps_letter_categories() -> None:
    records, _ = _read(VICS / "case-2.0-uk.json")
    assert [r.source_category for r in records] == ["A"]


@pytest.mark.parametrize(("name", "version", "region", "shape"), [
    ("hashset-2.0.json", "2.0", "Default", "media"),
    ("hashset-1.2.json", "1.2", None, "media"),
    ("case-1.3.json", "1.3", None, "cases"),
    ("case-2.0-us.json", "2.0", "US", "cases"),
    ("case-2.0-uk.json", "2.0", "UK", "cases"),
])
def test_envelope(name: str, version: str, region: str | None, shape: str) -> None:
    envelope = read_envelope(VICS / name)
    assert (envelope.version, envelope.region, envelope.shape) == (version, region, shape)


def test_bom_string_booleans_and_alternative_hashes() -> None:
    records, sink = _read(VICS / "hashset-2.0-bom-strings.json")
    assert records[0] == BankRecord(
        digests=(md5(11), sha256(11), ed2k(11), pdq(11), photodna(11)), source_category="1",
        size=2048, flags=frozenset({"victim-identified", "distributed", "precategorised"}),
        source_id="11",
    )
    assert records[1].digests == (md5(12), photodna(12))
    assert [(w.position, w.reason) for w in sink.warnings] == [
        ("record 1 (MediaID 11)", "unknown alternative hash 'Whirlpool' ignored"),
    ]


@pytest.mark.parametrize("truth", [(True, False), ("true", "false"), ("True", "FALSE")])
def test_real_and_string_booleans_read_alike(tmp_path: Path, truth: tuple[Any, Any]) -> None:
    yes, no = truth
    media = {"MediaID": 1, "MD5": md5(1).value.hex(), "VictimIdentified": yes,
             "OffenderIdentified": no, "IsDistributed": yes}
    path = _write(tmp_path / "b.json", {"@odata.context": V2_MEDIA, "value": [media]})
    records, _ = _read(path)
    assert records[0].flags == frozenset({"victim-identified", "distributed"})


def test_rejects_and_warnings() -> None:
    records, sink = _read(VICS / "rejects-2.0.json")
    assert [r.source_id for r in records] == ["21", "25"]
    assert records[0].digests == (md5(21),)
    assert [(r.position, r.reason) for r in sink.rejects] == [
        ("record 2 (MediaID 22)", "MD5 missing"),
        ("record 3 (MediaID 23)",
         f"invalid MD5: not a valid md5 value: {md5(23).value.hex()[:31]!r}"),
        ("record 4", "not a Media object"),
    ]
    assert [(w.position, w.reason) for w in sink.warnings] == [
        ("record 1 (MediaID 21)", "SHA1 dropped: not a valid sha1 value: 'XYZ'"),
        ("record 1 (MediaID 21)", "PhotoDNA dropped: not a valid photodna value: 'not-base64!'"),
        ("record 1 (MediaID 21)", "IsDistributed 'maybe' is not a boolean: ignored"),
        ("record 5 (MediaID 25)", "MediaSize ignored: not a size: 'big'"),
    ]
    assert sink.rejects[2].raw == '"a string is not a Media"'


def test_truncated_file_is_corrupt_at_its_end() -> None:
    path = VICS / "truncated-2.0.json"
    lines = path.read_bytes().count(b"\n") + 1
    with pytest.raises(CorruptInputError) as caught:
        _read(path)
    message = str(caught.value)
    assert caught.value.path == str(path)
    assert f"ends prematurely at byte {path.stat().st_size} (line {lines}, after record 2)" \
        in message


def test_syntax_error_names_the_line() -> None:
    path = VICS / "syntax-error-2.0.json"
    text = path.read_text(encoding="utf-8")
    line = text[: text.index('"MediaSize" 166304')].count("\n") + 1
    with pytest.raises(CorruptInputError, match=rf"\(line {line}\) \(after record 1\)"):
        _read(path)


def test_invalid_utf8_inside_a_string_is_corrupt(tmp_path: Path) -> None:
    good = json.dumps({"@odata.context": V2_MEDIA, "value": [
        {"MediaID": 1, "MD5": md5(1).value.hex(), "Series": "SERIES"}]}).encode()
    path = tmp_path / "bad-utf8.json"
    path.write_bytes(good.replace(b"SERIES", b"\xff\xfe"))
    with pytest.raises(CorruptInputError):
        _read(path)


@pytest.mark.parametrize("data", [
    {"value": []},
    {"@odata.context": "http://example.org/$metadata#People", "value": []},
    [{"@odata.context": V2_MEDIA}],
])
def test_json_that_is_not_vics_is_a_mismatch(tmp_path: Path, data: Any) -> None:
    path = _write(tmp_path / "other.json", data)
    with pytest.raises(FormatMismatchError):
        next(FORMAT.read(path, CollectingSink()))


def test_context_after_value_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "late.json"
    value = json.dumps([{"MD5": md5(1).value.hex()}])
    path.write_text(f'{{"value": {value}, "@odata.context": "{V2_MEDIA}"}}', encoding="utf-8")
    with pytest.raises(FormatMismatchError, match="before the value array"):
        next(FORMAT.read(path, CollectingSink()))


@pytest.mark.parametrize("data", [{"@odata.context": V2_MEDIA},
                                  {"@odata.context": V2_MEDIA, "value": {"MD5": "00"}}])
def test_missing_value_array_is_corrupt(tmp_path: Path, data: Any) -> None:
    path = _write(tmp_path / "novalue.json", data)
    with pytest.raises(CorruptInputError, match="no value array"):
        next(FORMAT.read(path, CollectingSink()))


def test_foreign_file_is_a_mismatch_naming_it() -> None:
    path = FIXTURES / "icse" / "icse.csv"
    with pytest.raises(FormatMismatchError) as caught:
        next(FORMAT.read(path, CollectingSink()))
    assert str(path) in str(caught.value)
