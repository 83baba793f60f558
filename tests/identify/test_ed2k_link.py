"""ed2k links: parsing, validation messages, round trips, and rhash as an oracle."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from Crypto.Hash import MD4
from hypothesis import given, settings
from hypothesis import strategies as st

from icarus.core.errors import InvalidIdentifierError
from icarus.domain.digests import Digest
from icarus.identify.ed2k_link import (
    PART_SIZE,
    Ed2kFileLink,
    Ed2kSearchLink,
    Ed2kServerLink,
    Ed2kServerListLink,
    expected_part_count,
    format_ed2k_link,
    parse_ed2k_link,
)

MD4_EMPTY = "31d6cfe0d16ae931b73c59d7e0c089c0"  # MD4 of no bytes (RFC 1320 test suite)
HASH = "965C013E991EE246D63D45EA71954C4D"


def md4(data: bytes) -> bytes:
    return bytes(MD4.new(data).digest())  # noqa: S303 - ed2k is MD4 by definition


def test_md4_of_empty_is_the_rfc_value() -> None:
    assert md4(b"").hex() == MD4_EMPTY


def test_file_link_of_an_empty_file() -> None:
    link = parse_ed2k_link(f"ed2k://|file|empty.bin|0|{MD4_EMPTY.upper()}|/")
    assert link == Ed2kFileLink("empty.bin", 0, Digest("ed2k", bytes.fromhex(MD4_EMPTY)))


def test_name_is_percent_decoded_utf8_and_size_may_exceed_4_gib() -> None:
    link = parse_ed2k_link(f"ed2k://|file|caf%C3%A9%20%E2%82%AC%7C.iso|5000000000|{HASH}|/")
    assert isinstance(link, Ed2kFileLink)
    assert link.name == "café €|.iso"
    assert link.size == 5_000_000_000
    # The pipe must be escaped again, or the link would gain a field.
    assert "%7C" in format_ed2k_link(link)


def test_hex_is_case_insensitive_and_scheme_and_type_too() -> None:
    upper = parse_ed2k_link(f"ED2K://|FILE|a|1|{HASH}|/")
    lower = parse_ed2k_link(f"ed2k://|file|a|1|{HASH.lower()}|/")
    assert upper == lower


def test_aich_parts_and_sources() -> None:
    parts = (md4(b"part one"), md4(b""))
    root = md4(b"".join(parts)).hex()
    aich = "JS4P4QRBN3NIGRTKNS3DORGQO4LKZM7E"
    text = (
        f"ed2k://|file|big.bin|{PART_SIZE}|{root}|h={aich}|p={parts[0].hex()}:{parts[1].hex()}|/"
        "|sources,10.0.0.1:4662,192.0.2.7:1|/"
    )
    link = parse_ed2k_link(text)
    assert isinstance(link, Ed2kFileLink)
    assert link.part_hashes == parts
    assert link.aich is not None and link.aich.kind == "aich"
    assert link.sources == (("10.0.0.1", 4662), ("192.0.2.7", 1))
    assert parse_ed2k_link(format_ed2k_link(link)) == link


@pytest.mark.parametrize(
    ("size", "parts"),
    [(0, 1), (PART_SIZE - 1, 1), (PART_SIZE, 2), (PART_SIZE + 1, 2), (3 * PART_SIZE, 4)],
)
def test_red_rule_part_counts(size: int, parts: int) -> None:
    assert expected_part_count(size) == parts


def test_single_part_hash_must_equal_the_file_hash() -> None:
    one = md4(b"x")
    assert parse_ed2k_link(f"ed2k://|file|x|1|{one.hex()}|p={one.hex()}|/")
    with pytest.raises(InvalidIdentifierError, match="do not hash to the file's ed2k hash"):
        parse_ed2k_link(f"ed2k://|file|x|1|{HASH}|p={one.hex()}|/")


def test_other_link_types() -> None:
    assert parse_ed2k_link("ed2k://|server|192.0.2.1|4661|/") == Ed2kServerLink("192.0.2.1", 4661)
    url = "http://example.org/server.met"
    assert parse_ed2k_link(f"ed2k://|serverlist|{url}|/") == Ed2kServerListLink(url)
    assert parse_ed2k_link("ed2k://|search|two%20words|/") == Ed2kSearchLink("two words")


BLUE_PARTS = f"p={md4(b'a').hex()}"  # one part for a 2-part size: the "blue" count


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://|file|a|1|" + HASH + "|/", "does not start with 'ed2k://'"),
        ("ed2k://|file|a|1|" + HASH + "|", "must be of the form"),
        ("ed2k://|file|a|1|" + HASH[:-1] + "|/", "is not 32 hex digits"),
        ("ed2k://|file|a|1|" + HASH + "0|/", "is not 32 hex digits"),
        ("ed2k://|file|a|-1|" + HASH + "|/", "size '-1' is not a non-negative decimal"),
        ("ed2k://|file|a|1e3|" + HASH + "|/", "size '1e3' is not a non-negative decimal"),
        ("ed2k://|file||1|" + HASH + "|/", "empty field"),
        ("ed2k://|file|a|1|/", "needs a name, a size and an ed2k hash"),
        ("ed2k://|file|%FF|1|" + HASH + "|/", "file name is not percent-encoded UTF-8"),
        ("ed2k://|file|a|1|" + HASH + "|h=ABC|/", "AICH hash 'ABC' is not 32 base32"),
        ("ed2k://|file|a|1|" + HASH + "|p=12:34|/", "part hashes (p=) must be 32-hex-digit"),
        (f"ed2k://|file|a|{PART_SIZE}|{HASH}|{BLUE_PARTS}|/", "1 part hashes for a file of"),
        ("ed2k://|file|a|1|" + HASH + "|s=http://x/|/", "unknown field 's=http://x/'"),
        ("ed2k://|file|a|1|" + HASH + "|/|sources,1.2.3.4|/", "is not <ip>:<port>"),
        ("ed2k://|file|a|1|" + HASH + "|/|sources,1.2.3.4:0|/", "port 0 is outside 1-65535"),
        ("ed2k://|file|a|1|" + HASH + "|/|sources,1.2.3.256:1|/", "not an IPv4 address"),
        ("ed2k://|file|a|1|" + HASH + "|/|sources,|/", "sources list is empty"),
        ("ed2k://|file|a|1|" + HASH + "|/|peers,1.2.3.4:1|/", "only '|sources,"),
        ("ed2k://|server|1.2.3.4|65536|/", "port 65536 is outside 1-65535"),
        ("ed2k://|server|example.org|4661|/", "'example.org' is not an IPv4 address"),
        ("ed2k://|server|1.2.3.4|/", "a server link is ed2k://|server|<ip>|<port>|/"),
        ("ed2k://|server|1.2.3.4|1|/|sources,1.2.3.4:1|/", "a server link has nothing after"),
        ("ed2k://|serverlist|ftp://x/s.met|/", "not an http(s) URL"),
        ("ed2k://|nodeslist|http://x/n.dat|/", "unknown link type 'nodeslist'"),
        ("ed2k://|/|/", "empty field"),
    ],
)
def test_errors_name_the_problem_and_quote_the_link(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifierError) as caught:
        parse_ed2k_link(text)
    assert message in str(caught.value)
    assert repr(text) in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="|/:,.=%hpfilesrvch0123456789ABCDEF", max_size=60))
def test_garbage_after_the_scheme_fails_only_with_invalid_identifier(tail: str) -> None:
    with contextlib.suppress(InvalidIdentifierError):
        parse_ed2k_link("ed2k://" + tail)


def test_duplicate_field_is_refused() -> None:
    aich = "h=" + "A" * 32
    with pytest.raises(InvalidIdentifierError, match="field h= appears twice"):
        parse_ed2k_link(f"ed2k://|file|a|1|{HASH}|{aich}|{aich}|/")


def test_long_input_is_cut_in_the_message() -> None:
    text = "ed2k://|file|" + "n" * 500 + "|x|" + HASH + "|/"
    with pytest.raises(InvalidIdentifierError) as caught:
        parse_ed2k_link(text)
    assert "…" in str(caught.value)
    assert len(str(caught.value)) < 300


def test_constructor_checks_what_format_would_write() -> None:
    with pytest.raises(InvalidIdentifierError, match="negative size"):
        Ed2kFileLink("a", -1, Digest("ed2k", bytes(16)))
    with pytest.raises(InvalidIdentifierError, match="16-byte ed2k digest"):
        Ed2kFileLink("a", 1, Digest("md5", bytes(16)))


@st.composite
def file_links(draw: st.DrawFn) -> Ed2kFileLink:
    with_parts = draw(st.booleans())
    size = draw(st.integers(0, 40 * PART_SIZE if with_parts else 2**44))
    parts: tuple[bytes, ...] = ()
    root = draw(st.binary(min_size=16, max_size=16))
    if with_parts:
        count = expected_part_count(size)
        parts = tuple(draw(st.binary(min_size=16, max_size=16)) for _ in range(count))
        root = parts[0] if count == 1 else md4(b"".join(parts))
    aich = draw(st.none() | st.binary(min_size=20, max_size=20).map(lambda v: Digest("aich", v)))
    source = st.tuples(st.ip_addresses(v=4).map(str), st.integers(1, 65535))
    return Ed2kFileLink(
        name=draw(st.text(min_size=1, max_size=60)),
        size=size,
        ed2k=Digest("ed2k", root),
        aich=aich,
        part_hashes=parts,
        sources=tuple(draw(st.lists(source, max_size=4))),
    )


@settings(max_examples=150, deadline=None)
@given(file_links())
def test_file_link_round_trip(link: Ed2kFileLink) -> None:
    text = format_ed2k_link(link)
    assert parse_ed2k_link(text) == link
    assert format_ed2k_link(parse_ed2k_link(text)) == text


@settings(max_examples=60, deadline=None)
@given(
    st.ip_addresses(v=4).map(str),
    st.integers(1, 65535),
    st.text(min_size=1, max_size=40),
)
def test_other_links_round_trip(host: str, port: int, term: str) -> None:
    for link in (Ed2kServerLink(host, port), Ed2kSearchLink(term)):
        assert parse_ed2k_link(format_ed2k_link(link)) == link


RHASH = shutil.which("rhash")


@pytest.mark.oracle
@pytest.mark.skipif(RHASH is None, reason="rhash is not installed")
@pytest.mark.parametrize("size", [40_000, PART_SIZE])
def test_rhash_links_parse_to_independently_computed_hashes(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    target = tmp_path / "sample.bin"
    target.write_bytes(data)
    out = subprocess.run(
        [str(RHASH), "--ed2k-link", str(target)], capture_output=True, text=True, check=True
    ).stdout.strip()
    link = parse_ed2k_link(out)
    assert isinstance(link, Ed2kFileLink)
    assert (link.name, link.size) == ("sample.bin", size)
    # A file under one 180 KiB AICH block has its SHA-1 as AICH root.
    if size < 184_320:
        assert link.aich == Digest("aich", hashlib.sha1(data, usedforsecurity=False).digest())
    # The red rule: cut into parts, one trailing empty part at an exact multiple.
    parts = [md4(data[i : i + PART_SIZE]) for i in range(0, size + 1, PART_SIZE)]
    assert len(parts) == expected_part_count(size)
    root = parts[0] if len(parts) == 1 else md4(b"".join(parts))
    assert link.ed2k.value == root
    with_parts = Ed2kFileLink(link.name, size, link.ed2k, link.aich, tuple(parts))
    assert parse_ed2k_link(format_ed2k_link(with_parts)) == with_parts
