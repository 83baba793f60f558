"""The one contract every registered hash-set format keeps (icarus.bank.formats.FORMATS).

Names are persisted with every import: they must be lower case and never change. Each format
claims its own sample and no other format's; reads its own sample; and refuses a foreign file
with FormatMismatchError naming it, before yielding anything.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from icarus.bank.formats import BUILTIN, FORMATS
from icarus.bank.formats.base import HEAD_SIZE, HashSetFormat
from icarus.bank.schemes import SCHEMES
from icarus.core.errors import FormatMismatchError, InternalError
from icarus.core.plugins import Registry
from icarus.core.sinks import CollectingSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import SetKind

ALL = list(FORMATS)
PERSISTED_NAMES = {"vics", "icse", "nsrl-rds2", "nsrl-rds3", "md5sum", "hashdeep", "hashlist"}
PAIRS = [(f, other) for f in ALL for other in ALL if other is not f]


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(HEAD_SIZE)


def test_registered_names_are_the_persisted_ones() -> None:
    assert set(FORMATS.names()) == PERSISTED_NAMES
    assert len(BUILTIN) == len(FORMATS)


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.NAME)
def test_declares_the_contract(fmt: HashSetFormat) -> None:
    assert fmt.NAME.islower()
    assert fmt.NAME.strip() == fmt.NAME
    assert fmt.DESCRIPTION
    assert fmt.DEFAULT_SCHEME in SCHEMES
    assert isinstance(fmt.DEFAULT_KIND, SetKind)


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.NAME)
def test_sniffs_and_reads_its_own_sample(fmt: HashSetFormat,
                                         valid_samples: dict[str, Path]) -> None:
    path = valid_samples[fmt.NAME]
    assert fmt.sniff(path, _head(path))
    sink = CollectingSink(str(path))
    records = list(fmt.read(path, sink))
    assert records
    assert all(isinstance(r, BankRecord) for r in records)
    assert all(r.digest("md5") or r.digest("sha1") for r in records)
    assert sink.rejects == []


@pytest.mark.parametrize(("fmt", "other"), PAIRS,
                         ids=[f"{f.NAME}-on-{o.NAME}" for f, o in PAIRS])
def test_refuses_other_formats(fmt: HashSetFormat, other: HashSetFormat,
                               valid_samples: dict[str, Path]) -> None:
    foreign = valid_samples[other.NAME]
    assert not fmt.sniff(foreign, _head(foreign))
    records = fmt.read(foreign, CollectingSink())
    with pytest.raises(FormatMismatchError) as caught:
        next(records)
    assert caught.value.path == str(foreign)
    assert str(foreign) in str(caught.value)


@pytest.mark.parametrize("fmt", ALL, ids=lambda f: f.NAME)
def test_sniff_never_raises(fmt: HashSetFormat, tmp_path: Path) -> None:
    rng = random.Random(7)
    heads = [b"", b"\r", b'"unterminated\r\n', b"\xef\xbb\xbf", b"\xff\xfe{\x00",
             *(rng.randbytes(rng.randrange(1, 300)) for _ in range(50))]
    for head in heads:
        path = tmp_path / "noise.bin"
        path.write_bytes(head)
        assert fmt.sniff(path, head) is False


def test_registry_refuses_a_duplicate() -> None:
    registry: Registry[HashSetFormat] = Registry("hash-set format")
    registry.register(ALL[0])
    with pytest.raises(InternalError, match="registered twice"):
        registry.register(ALL[0])
