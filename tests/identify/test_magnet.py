"""Magnet URIs: every supported URN, numbered parameters, errors, canonical form, round trips."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from icarus.core.errors import InvalidIdentifierError, UsageError
from icarus.domain.digests import Digest
from icarus.identify.magnet import format_magnet, parse_magnet

VECTOR = "magnet:?xt=urn:btih:64ecbbf09c884e4298870d7c6f02baf67f02743b&dn=a.bin&xl=1"
BTIH = bytes.fromhex("64ecbbf09c884e4298870d7c6f02baf67f02743b")
SHA256_A = hashlib.sha256(b"a").digest()
# Tiger Tree Hash of no bytes (THEX): a published constant.
TTH_EMPTY_B32 = "LWPNACQDBZRYXW3VHJVCJ64QBZNGHOHHHZWCLNQ"
TTH_EMPTY = base64.b32decode(TTH_EMPTY_B32 + "=")


def sha1(data: bytes) -> bytes:
    return hashlib.sha1(data, usedforsecurity=False).digest()


def md5(data: bytes) -> bytes:
    return hashlib.md5(data, usedforsecurity=False).digest()


def b32(value: bytes) -> str:
    return base64.b32encode(value).decode().rstrip("=")


SHA1_EMPTY = sha1(b"")


def test_vector() -> None:
    magnet = parse_magnet(VECTOR)
    assert magnet.digests == (Digest("btih", BTIH),)
    assert (magnet.name, magnet.size, magnet.raw) == ("a.bin", 1, VECTOR)
    assert magnet.warnings == ()
    # Given the same fields, the canonical form is exactly the vector.
    assert format_magnet(magnet.digests, name="a.bin", size=1) == VECTOR


def test_btih_in_base32_names_the_same_infohash() -> None:
    magnet = parse_magnet(f"magnet:?xt=urn:btih:{b32(BTIH).lower()}")
    assert magnet.digest("btih") == Digest("btih", BTIH)


def test_hybrid_has_v1_and_v2_and_numbered_forms_are_equivalent() -> None:
    v1, v2 = "urn:btih:" + BTIH.hex(), "urn:btmh:1220" + SHA256_A.hex()
    plain = parse_magnet(f"magnet:?xt={v1}&xt={v2}")
    numbered = parse_magnet(f"magnet:?xt.1={v1}&xt.2={v2}")
    expected = (Digest("btih", BTIH), Digest("btih-v2", SHA256_A))
    assert plain.digests == numbered.digests == expected


@pytest.mark.parametrize(
    ("urn", "expected"),
    [
        (f"urn:sha1:{b32(SHA1_EMPTY)}", [Digest("sha1", SHA1_EMPTY)]),
        (f"urn:sha1:{SHA1_EMPTY.hex()}", [Digest("sha1", SHA1_EMPTY)]),
        (f"urn:tree:tiger:{TTH_EMPTY_B32}", [Digest("tth", TTH_EMPTY)]),
        (f"urn:tree:tiger/:{TTH_EMPTY_B32}", [Digest("tth", TTH_EMPTY)]),
        (f"urn:tree:tiger/1024:{TTH_EMPTY_B32}", [Digest("tth", TTH_EMPTY)]),
        (
            f"urn:bitprint:{b32(SHA1_EMPTY)}.{TTH_EMPTY_B32}",
            [Digest("sha1", SHA1_EMPTY), Digest("tth", TTH_EMPTY)],
        ),
        (
            "urn:ed2k:31d6cfe0d16ae931b73c59d7e0c089c0",
            [Digest("ed2k", bytes.fromhex("31d6cfe0d16ae931b73c59d7e0c089c0"))],
        ),
        (
            "urn:ed2khash:31D6CFE0D16AE931B73C59D7E0C089C0",
            [Digest("ed2k", bytes.fromhex("31d6cfe0d16ae931b73c59d7e0c089c0"))],
        ),
        (f"urn:aich:{b32(SHA1_EMPTY)}", [Digest("aich", SHA1_EMPTY)]),
        (f"urn:md5:{md5(b'').hex()}", [Digest("md5", md5(b""))]),
        (f"URN:BTMH:1220{SHA256_A.hex().upper()}", [Digest("btih-v2", SHA256_A)]),
    ],
)
def test_every_supported_urn(urn: str, expected: list[Digest]) -> None:
    assert list(parse_magnet(f"magnet:?xt={urn}").digests) == expected


def test_values_are_percent_decoded_and_repeats_collapse() -> None:
    tracker = "udp://tracker.invalid:1337/announce"
    text = (
        f"magnet:?xt=urn:btih:{BTIH.hex()}&dn=a+b%20c%E2%82%AC&tr=udp%3A%2F%2Ftracker.invalid"
        f"%3A1337%2Fannounce&tr={tracker}&tr.1=http://t.invalid/a&x.pe=127.0.0.1:6881"
        f"&x.pe=[::1]:6881&xt=urn:btih:{b32(BTIH)}"
    )
    magnet = parse_magnet(text)
    assert magnet.name == "a b c€"
    assert magnet.trackers == (tracker, "http://t.invalid/a")
    assert magnet.peers == ("127.0.0.1:6881", "[::1]:6881")
    assert magnet.digests == (Digest("btih", BTIH),)


def test_unknown_urns_are_warnings_not_errors() -> None:
    magnet = parse_magnet(f"magnet:?xt=urn:kzhash:abc&xt.2=urn:btih:{BTIH.hex()}&as=x&ws=y")
    assert magnet.digests == (Digest("btih", BTIH),)
    assert len(magnet.warnings) == 1 and "urn:kzhash:abc" in magnet.warnings[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://x/?xt=urn:btih:" + BTIH.hex(), "does not start with 'magnet:?'"),
        ("magnet:?dn=a.bin", "no usable exact topic (xt): there is no xt parameter"),
        ("magnet:?xt=urn:crc32:1234", "ignored unsupported exact topic 'urn:crc32:1234'"),
        ("magnet:?xt=urn:btih:" + BTIH.hex()[:-2], "bad 'urn:btih:"),
        ("magnet:?xt=urn:btmh:1120" + SHA256_A.hex(), "is not a SHA2-256 multihash"),
        ("magnet:?xt=urn:btmh:1220" + SHA256_A.hex()[:-2], "is not a SHA2-256 multihash"),
        ("magnet:?xt=urn:btmh:12zz", "is not a hex multihash"),
        ("magnet:?xt=urn:bitprint:" + b32(SHA1_EMPTY), "must be <sha1 base32>.<tth base32>"),
        ("magnet:?xt=urn:sha1:notbase32!", "bad 'urn:sha1:notbase32!'"),
        ("magnet:?xt=urn:btih:" + BTIH.hex() + "&xl=-1", "xl '-1' is not a non-negative"),
        ("magnet:?xt=urn:btih:" + BTIH.hex() + "&x.pe=host", "peer (x.pe) 'host' is not"),
        ("magnet:?xt=urn:btih:" + BTIH.hex() + "&x.pe=h:70000", "peer (x.pe) 'h:70000'"),
        ("magnet:?xt=urn:btih:" + BTIH.hex() + "&dn=%FF", "'dn' is not percent-encoded UTF-8"),
    ],
)
def test_errors_name_the_problem_and_quote_the_magnet(text: str, message: str) -> None:
    with pytest.raises(InvalidIdentifierError) as caught:
        parse_magnet(text)
    assert message in str(caught.value)
    assert repr(text) in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="&=:.%+xtdnlrpeurnbihmsa1234567890ABCDEF", max_size=80))
def test_garbage_query_fails_only_with_invalid_identifier(query: str) -> None:
    with contextlib.suppress(InvalidIdentifierError):
        parse_magnet("magnet:?" + query)


def test_canonical_form_orders_and_deduplicates() -> None:
    digests = [
        Digest("md5", bytes(16)),
        Digest("sha1", SHA1_EMPTY),
        Digest("btih-v2", SHA256_A),
        Digest("btih", BTIH),
        Digest("sha1", SHA1_EMPTY),
    ]
    text = format_magnet(digests, trackers=["udp://t.invalid:1", "udp://t.invalid:1"])
    assert text == (
        f"magnet:?xt=urn:btih:{BTIH.hex()}&xt=urn:btmh:1220{SHA256_A.hex()}"
        f"&xt=urn:sha1:{b32(SHA1_EMPTY)}&xt=urn:md5:{'00' * 16}&tr=udp%3A%2F%2Ft.invalid%3A1"
    )
    assert format_magnet(reversed(digests)) == format_magnet(digests)


def test_format_refuses_what_no_magnet_can_say() -> None:
    with pytest.raises(UsageError, match="no magnet URN names a sha256 digest"):
        format_magnet([Digest("sha256", SHA256_A)])
    with pytest.raises(UsageError, match="at least one digest"):
        format_magnet([])
    with pytest.raises(UsageError, match="cannot be negative"):
        format_magnet([Digest("btih", BTIH)], size=-1)


SIZES = {"btih": 20, "btih-v2": 32, "sha1": 20, "tth": 24, "ed2k": 16, "aich": 20, "md5": 16}
digests = st.sampled_from(sorted(SIZES)).flatmap(
    lambda kind: st.binary(min_size=SIZES[kind], max_size=SIZES[kind]).map(
        lambda value: Digest(kind, value)
    )
)
peers = st.tuples(st.sampled_from(["127.0.0.1", "[::1]", "peer.invalid"]), st.integers(1, 65535))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(digests, min_size=1, max_size=6),
    st.none() | st.text(max_size=40),
    st.none() | st.integers(0, 2**63),
    st.lists(st.text(min_size=1, max_size=30), max_size=3),
    st.lists(peers.map(lambda p: f"{p[0]}:{p[1]}"), max_size=3),
)
def test_round_trip(
    ds: list[Digest], name: str | None, size: int | None, trs: list[str], pes: list[str]
) -> None:
    text = format_magnet(ds, name=name, size=size, trackers=trs, peers=pes)
    magnet = parse_magnet(text)
    assert set(magnet.digests) == set(ds)
    assert len(magnet.digests) == len(set(ds))
    assert (magnet.name, magnet.size) == (name, size)
    assert magnet.trackers == tuple(dict.fromkeys(trs))
    assert magnet.peers == tuple(dict.fromkeys(pes))
    assert format_magnet(magnet.digests, name=name, size=size, trackers=trs, peers=pes) == text


RHASH = shutil.which("rhash")


@pytest.mark.oracle
@pytest.mark.skipif(RHASH is None, reason="rhash is not installed")
def test_rhash_magnet_parses_to_independently_computed_hashes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 100
    target = tmp_path / "sample.bin"
    target.write_bytes(data)
    out = subprocess.run(
        [str(RHASH), "--magnet", "--sha1", "--md5", "--ed2k", "--aich", "--tth", str(target)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    magnet = parse_magnet(out)
    assert (magnet.name, magnet.size, magnet.warnings) == ("sample.bin", len(data), ())
    assert magnet.digest("sha1") == Digest("sha1", sha1(data))
    assert magnet.digest("md5") == Digest("md5", md5(data))
    assert magnet.digest("aich") == Digest("aich", sha1(data))  # one block
    assert {d.kind for d in magnet.digests} == {"sha1", "md5", "ed2k", "aich", "tth"}
