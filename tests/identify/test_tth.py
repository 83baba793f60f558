"""TTH through LibRHash: the THEX tree rules, incremental feeding, a missing library."""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

import pytest

from icarus.core.errors import InternalError
from icarus.identify import tth as tth_module
from icarus.identify.tth import TTH_SIZE, TthHasher, tth_available, tth_bytes

needs_rhash = pytest.mark.skipif(
    not tth_available(), reason="TTH needs LibRHash: install the Debian package librhash0"
)

RHASH_TIGER = 0x10  # enum rhash_ids in rhash.h (LibRHash 1.4)


def _tiger(data: bytes) -> bytes:
    """Plain Tiger (not the tree), from the same library, to build THEX by hand."""
    lib = tth_module._load()
    out = ctypes.create_string_buffer(64)
    lib.rhash_msg.argtypes = [ctypes.c_uint, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    lib.rhash_msg.restype = ctypes.c_int
    assert lib.rhash_msg(RHASH_TIGER, data, len(data), out) == 0
    return out.raw[:TTH_SIZE]


def _thex(data: bytes) -> bytes:
    """The THEX root written from the draft: 0x00-prefixed leaves, 0x01-prefixed nodes."""
    level = [_tiger(b"\x00" + data[i : i + 1024]) for i in range(0, len(data), 1024)]
    if not level:
        return _tiger(b"\x00")
    while len(level) > 1:
        pairs = [_tiger(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        # An unpaired last node is promoted to the next level unchanged.
        level = pairs + ([level[-1]] if len(level) % 2 else [])
    return level[0]


@needs_rhash
@pytest.mark.parametrize("leaves", [0, 1, 2, 3, 5, 7, 8, 9, 13])
@pytest.mark.parametrize("tail", [0, 1, 1023])
def test_follows_the_thex_tree_rules(
    leaves: int, tail: int, random_bytes: Callable[[int, int], bytes]
) -> None:
    size = max(0, leaves * 1024 - (1024 - tail if tail else 0))
    data = random_bytes(size, size)
    assert tth_bytes(data) == _thex(data)


@needs_rhash
def test_empty_input_is_tiger_of_a_zero_byte() -> None:
    assert tth_bytes(b"") == _tiger(b"\x00")


@needs_rhash
def test_incremental_feeding_in_every_buffer_type(
    random_bytes: Callable[[int, int], bytes],
) -> None:
    data = random_bytes(1, 50_000)
    expected = tth_bytes(data)
    hasher = TthHasher()
    hasher.update(data[:3])  # bytes
    hasher.update(bytearray(data[3:1500]))  # writable buffer: passed by address
    hasher.update(memoryview(data)[1500:1500])  # empty
    hasher.update(memoryview(data)[1500:40_000])  # read-only view
    hasher.update(memoryview(bytearray(data))[40_000:])  # writable view slice
    assert hasher.digest() == expected


@needs_rhash
def test_digest_is_final() -> None:
    hasher = TthHasher()
    hasher.update(b"abc")
    first = hasher.digest()
    assert len(first) == TTH_SIZE
    assert hasher.digest() == first
    with pytest.raises(InternalError, match="after its digest"):
        hasher.update(b"more")


def test_a_missing_library_names_the_debian_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tth_module, "_lib", None)
    monkeypatch.setattr(tth_module, "_SONAMES", ("librhash-absent.so.9",))
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert not tth_available()
    with pytest.raises(InternalError, match="librhash0"):
        TthHasher()
