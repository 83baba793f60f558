"""detect_format: exactly one registered format must claim a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from icarus.bank.formats import FORMATS, detect_format
from icarus.core.errors import FormatMismatchError, InputError
from tests.bank.formats.samples import FIXTURES

EXPECTED = {
    "vics": ["hashset-2.0.json", "hashset-1.2.json", "case-1.3.json", "case-2.0-us.json",
             "case-2.0-uk.json", "hashset-2.0-bom-strings.json", "rejects-2.0.json",
             "truncated-2.0.json", "syntax-error-2.0.json"],
    "icse": ["icse.csv", "icse-bom-casing.csv", "icse-rejects.csv"],
    "nsrl-rds2": ["plain/NSRLFile.txt", "with-products/NSRLFile.txt", "rejects/NSRLFile.txt"],
    "md5sum": ["md5sum.txt", "sha1sum-binary-escaped.txt", "md5sum-rejects.txt"],
    "hashdeep": ["hashdeep.txt", "hashdeep-sha1-commas.txt", "hashdeep-rejects.txt"],
    "hashlist": ["hashlist.txt", "hashlist-comments.txt", "hashlist-rejects.txt"],
}
FOLDERS = {"vics": "vics", "icse": "icse", "nsrl-rds2": "nsrl2", "md5sum": "md5sum",
           "hashdeep": "hashdeep", "hashlist": "hashlist"}
CASES = [(name, FIXTURES / FOLDERS[name] / f) for name, files in EXPECTED.items() for f in files]


@pytest.mark.parametrize(("name", "path"), CASES, ids=[str(p.relative_to(FIXTURES))
                                                      for _, p in CASES])
def test_every_fixture_is_detected_as_its_format(name: str, path: Path) -> None:
    detected = detect_format(path)
    assert name == detected.NAME


@pytest.mark.parametrize("shape", ["minimal", "full"])
def test_rds3_databases_are_detected(rds3_dir: Path, shape: str) -> None:
    assert detect_format(rds3_dir / f"{shape}.db").NAME == "nsrl-rds3"


@pytest.mark.parametrize("content", [b"", b"hello world\n", b"\x00\x01\x02", b"{}"])
def test_unknown_file_lists_the_formats_tried(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "unknown.bin"
    path.write_bytes(content)
    with pytest.raises(FormatMismatchError) as caught:
        detect_format(path)
    message = str(caught.value)
    assert str(path) in message
    assert all(name in message for name in FORMATS.names())


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        detect_format(tmp_path / "absent.json")
