"""The one contract every registered hash kind keeps (icarus.identify.kinds.KINDS).

Names are persisted in the bank and in exports: they must be lower case and never change.
Text must round-trip, hex must be accepted in any case, and malformed text must be refused with
InvalidIdentifierError (never a bare ValueError or a silently wrong value).
"""

from __future__ import annotations

import random
import re
import zlib

import pytest

from icarus.core.errors import InternalError, InvalidIdentifierError
from icarus.core.plugins import Registry
from icarus.domain.digests import Digest
from icarus.identify.kinds import KINDS, HashKind, format_digest, parse_digest

ALL = list(KINDS)

PERSISTED_NAMES = {
    "md5",
    "sha1",
    "sha256",
    "ed2k",
    "btih",
    "btih-v2",
    "tth",
    "aich",
    "pdq",
    "photodna",
}
"""Names already written into banks and exports: renaming or dropping one breaks them."""


def _values(kind: HashKind, count: int = 25) -> list[bytes]:
    # A seed from the name (not hash(), which is salted per process): reproducible failures.
    rng = random.Random(zlib.crc32(kind.NAME.encode()))
    if kind.SIZE is None:  # variable-length values: the kind knows what a valid one looks like
        return [kind.sample(rng) for _ in range(count)]
    edges = [bytes(kind.SIZE), b"\xff" * kind.SIZE]
    return edges + [kind.sample(rng) for _ in range(count)]


def _ids(kind: HashKind) -> str:
    return kind.NAME


def test_persisted_names_are_all_still_registered() -> None:
    assert set(KINDS.names()) >= PERSISTED_NAMES


@pytest.mark.parametrize("kind", ALL, ids=_ids)
def test_name_is_lower_case_and_stable(kind: HashKind) -> None:
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", kind.NAME)
    assert KINDS.get(kind.NAME) is kind
    assert KINDS.get(kind.NAME.upper()) is kind
    assert type(kind).NAME == kind.NAME  # a class constant, not a per-instance value


@pytest.mark.parametrize("kind", ALL, ids=_ids)
def test_format_then_parse_gives_the_value_back(kind: HashKind) -> None:
    for value in _values(kind):
        text = kind.format(value)
        assert kind.parse(text) == Digest(kind.NAME, value)
        assert parse_digest(kind.NAME, text) == Digest(kind.NAME, value)
        assert format_digest(Digest(kind.NAME, value)) == text
        assert kind.parse(f"  {text}\n") == Digest(kind.NAME, value)


@pytest.mark.parametrize("kind", ALL, ids=_ids)
def test_hex_is_accepted_in_any_case(kind: HashKind) -> None:
    for value in _values(kind, count=5):
        assert kind.parse(value.hex().upper()) == Digest(kind.NAME, value)
        assert kind.parse(value.hex()) == Digest(kind.NAME, value)


@pytest.mark.parametrize("kind", ALL, ids=_ids)
def test_wrong_length_is_refused(kind: HashKind) -> None:
    if kind.SIZE is None:
        pytest.skip(f"{kind.NAME} values have no fixed length")
    value = _values(kind, count=1)[-1]
    for wrong in (value[:-1], value + b"\x00", b""):
        for text in {wrong.hex(), kind.format(wrong)}:
            with pytest.raises(InvalidIdentifierError):
                kind.parse(text)


@pytest.mark.parametrize("kind", ALL, ids=_ids)
def test_non_hex_text_is_refused(kind: HashKind) -> None:
    hex_text = _values(kind, count=1)[-1].hex()
    for bad in (
        "g" + hex_text[1:],  # right length, one letter beyond hex
        hex_text[:-1] + "!",  # punctuation: valid in no encoding
        "!" * len(hex_text),
        hex_text[:10] + " " + hex_text[11:],
    ):
        with pytest.raises(InvalidIdentifierError):
            kind.parse(bad)


@pytest.mark.parametrize("kind", ALL, ids=_ids)
def test_registering_a_duplicate_name_is_refused(kind: HashKind) -> None:
    registry: Registry[HashKind] = Registry("hash kind")
    registry.register(kind)
    with pytest.raises(InternalError, match="registered twice"):
        registry.register(kind)
    with pytest.raises(InternalError, match="registered twice"):
        registry.register(type(kind)())
