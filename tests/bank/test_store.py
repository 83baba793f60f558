"""The bank store: all-or-nothing imports, idempotence, rejects, removal, crash leftovers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from icarus.bank.service import BankService
from icarus.core.errors import CorruptInputError, FormatMismatchError, NotFoundError, UsageError
from icarus.domain.categories import Category, SetKind
from tests.bank.conftest import md5_of, vics_media, write_vics


def _segment_dirs(service: BankService) -> list[str]:
    d = service.store.segments_dir
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def test_import_creates_set_with_provenance(service: BankService, tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(i, category=i % 5) for i in range(1, 11)])
    result = service.import_file(src, set_name="vic", source="test release", who="examiner-a")
    assert result.record is not None
    assert result.record.entries == 10 and result.record.rejects == 0
    info = service.get_set("vic")
    assert info.kind is SetKind.ALERT and info.scheme == "vics-us"
    imp = info.imports[0]
    assert imp.file_sha256 == __import__("hashlib").sha256(src.read_bytes()).hexdigest()
    assert (imp.imported_by, imp.source, imp.format) == ("examiner-a", "test release", "vics")
    counts = service.category_counts("vic")
    # vics-us: 1 -> csam, 2 -> exploitative, 3 -> cgi, 4 -> comparison, 0 -> non-pertinent
    assert counts == {"csam": 2, "exploitative": 2, "cgi": 2, "comparison": 2,
                      "non-pertinent": 2}


def test_reimport_changes_nothing(service: BankService, tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(i) for i in range(1, 6)])
    service.import_file(src, set_name="vic")
    catalog_before = service.store.catalog_path.read_bytes()
    segments_before = _segment_dirs(service)
    again = service.import_file(src, set_name="vic")
    assert again.already_imported
    assert service.store.catalog_path.read_bytes() == catalog_before
    assert _segment_dirs(service) == segments_before
    assert service.get_set("vic").entries == 5


def test_rejects_file_names_position_and_reason(service: BankService, tmp_path: Path) -> None:
    media = [vics_media(1), {"MediaID": 2, "MD5": "not-a-hash"}, vics_media(3),
             {"MediaID": 4, "Category": 1}]
    src = write_vics(tmp_path / "set.json", media)
    result = service.import_file(src, set_name="vic")
    assert result.record is not None
    assert (result.record.entries, result.record.rejects) == (2, 2)
    assert result.rejects_path is not None
    lines = [json.loads(x) for x in result.rejects_path.read_text().splitlines()]
    assert len(lines) == 2
    assert all(x["source"] == str(src) for x in lines)
    assert "MediaID 2" in lines[0]["position"] and "MD5" in lines[0]["reason"]
    assert "MediaID 4" in lines[1]["position"] and "MD5" in lines[1]["reason"]


def test_wrong_claimed_format_imports_nothing(service: BankService, tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(1)])
    with pytest.raises(FormatMismatchError) as err:
        service.import_file(src, set_name="x", fmt="icse")
    assert str(src) in str(err.value)
    assert service.list_sets() == [] and _segment_dirs(service) == []


def test_truncated_file_imports_nothing(service: BankService, tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(i) for i in range(1, 200)])
    src.write_bytes(src.read_bytes()[:-500])
    with pytest.raises(CorruptInputError) as err:
        service.import_file(src, set_name="x")
    assert str(src) in str(err.value)
    assert service.list_sets() == [] and _segment_dirs(service) == []


def test_interrupted_import_leaves_nothing(service: BankService, tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(i) for i in range(1, 30_001)])

    def interrupt(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        service.import_file(src, set_name="x", progress=interrupt)
    assert service.list_sets() == [] and _segment_dirs(service) == []
    # and the same import then completes
    assert service.import_file(src, set_name="x").record is not None
    assert service.get_set("x").entries == 30_000


def test_leftovers_of_a_killed_import_are_collected(service: BankService,
                                                     tmp_path: Path) -> None:
    seg = service.store.segments_dir
    (seg / ".tmp-x-0123456789abcdef").mkdir(parents=True)
    (seg / "orphan-segment").mkdir()
    (seg / "orphan-segment" / "entries.parquet").write_bytes(b"half")
    src = write_vics(tmp_path / "set.json", [vics_media(1)])
    service.import_file(src, set_name="vic")
    assert _segment_dirs(service) == [service.get_set("vic").imports[0].segment]


def test_remove_leaves_other_sets_untouched(service: BankService, tmp_path: Path) -> None:
    a = write_vics(tmp_path / "a.json", [vics_media(i, prefix="a") for i in range(1, 50)])
    b = write_vics(tmp_path / "b.json", [vics_media(i, prefix="b") for i in range(1, 50)])
    service.import_file(a, set_name="a")
    service.import_file(b, set_name="b")
    b_dir = service.store.segment_dir(service.get_set("b").imports[0].segment)
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in b_dir.rglob("*")}
    service.remove("a")
    assert [s.name for s in service.list_sets()] == ["b"]
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in b_dir.rglob("*")} == before
    with pytest.raises(NotFoundError):
        service.get_set("a")


def test_second_import_into_a_set_adds_a_segment(service: BankService, tmp_path: Path) -> None:
    a = write_vics(tmp_path / "a.json", [vics_media(i) for i in range(1, 4)])
    b = write_vics(tmp_path / "b.json", [vics_media(i) for i in range(10, 15)])
    service.import_file(a, set_name="vic")
    first = service.store.segment_dir(service.get_set("vic").imports[0].segment)
    mtime = (first / "entries.parquet").stat().st_mtime_ns
    service.import_file(b, set_name="vic")
    info = service.get_set("vic")
    assert len(info.imports) == 2 and info.entries == 8
    assert (first / "entries.parquet").stat().st_mtime_ns == mtime


def test_bad_set_names_are_refused(service: BankService, tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(1)])
    for bad in ("", "Upper", "has space", "../escape", ".hidden", "x" * 65):
        with pytest.raises(UsageError):
            service.import_file(src, set_name=bad)


def test_unknown_category_value_warns(service: BankService, tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(1, category=9), vics_media(2)])
    result = service.import_file(src, set_name="vic")
    assert any("'9'" in w and "vics-us" in w for w in result.warnings)
    assert service.category_counts("vic") == {"uncategorised": 1, "csam": 1}


def test_export_round_trip(service: BankService, tmp_path: Path) -> None:
    pdq = "f8f8f0cce0f4e84d0e370a22028f67f0b36e2ed596623e1d33e6339c4e9c9b22"
    src = write_vics(tmp_path / "set.json",
                     [vics_media(1, category=1, pdq=pdq), vics_media(2, category=3),
                      vics_media(3, category=None)])
    service.import_file(src, set_name="vic")
    out = tmp_path / "export.json"
    assert service.export_to_file("vic", "vics", out) == 3
    service.import_file(out, set_name="again")
    assert service.category_counts("again") == service.category_counts("vic")
    orig = sorted((r.record.digest("md5"), r.record.digest("pdq"), r.category)
                  for r in service.rows("vic"))
    back = sorted((r.record.digest("md5"), r.record.digest("pdq"), r.category)
                  for r in service.rows("again"))
    assert orig == back
    md5sum = tmp_path / "export.md5"
    service.export_to_file("vic", "md5sum", md5sum)
    assert {line.split()[0] for line in md5sum.read_text().splitlines()} == {
        md5_of(f"item-{i}") for i in (1, 2, 3)}


def test_indexes_load_by_memory_mapping(service: BankService, tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(i) for i in range(1, 100)])
    service.import_file(src, set_name="vic")
    matcher = service.matcher()
    seg = matcher.segments[0]
    found = seg.exact("md5")
    assert found is not None
    _, rows = found
    assert isinstance(rows, np.memmap)
    cats, _ = seg.meta()
    assert isinstance(cats, np.memmap)
    assert not any(p.suffix in {".pkl", ".pickle"} for p in service.settings.bank_dir.rglob("*"))


def test_matching_exact_and_perceptual(service: BankService, tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    code = rng.integers(0, 256, 32, dtype=np.uint8)
    src = write_vics(tmp_path / "set.json",
                     [vics_media(1, category=1, pdq=code.tobytes().hex()), vics_media(2)])
    service.import_file(src, set_name="vic", pdq_radius=20)
    service.import_file(write_vics(tmp_path / "n.json", [vics_media(1, category=4)]),
                        set_name="other")
    matcher = service.matcher()
    q = np.frombuffer(bytes.fromhex(md5_of("item-1")) + bytes.fromhex(md5_of("nothing")),
                      dtype=np.uint8).reshape(2, 16)
    hits = matcher.match_exact("md5", q)
    assert sorted((m.set_name, m.category) for m in hits[0]) == [
        ("other", Category.COMPARISON), ("vic", Category.CSAM)]
    assert hits[1] == []
    near = code.copy()
    flips = rng.choice(256, 25, replace=False)
    for bit in flips:
        near[bit // 8] ^= 1 << (7 - bit % 8)
    pdq_hits = matcher.match_pdq(near.reshape(1, 32))
    assert pdq_hits == [[]]  # 25 bits > this set's radius of 20
    wide = matcher.match_pdq(near.reshape(1, 32), radius=31)
    assert [(m.set_name, m.distance, m.category) for m in wide[0]] == [
        ("vic", 25, Category.CSAM)]


def test_no_set_is_visible_while_an_import_is_incomplete(service: BankService,
                                                          tmp_path: Path) -> None:
    src = write_vics(tmp_path / "set.json", [vics_media(i) for i in range(1, 20_001)])
    seen: list[list[str]] = []

    def look(n: int) -> None:
        seen.append([s.name for s in BankService(service.settings).list_sets()])

    service.import_file(src, set_name="vic", progress=look)
    assert seen and all(s == [] for s in seen[:-1])
    assert service.store.catalog_path.exists()
