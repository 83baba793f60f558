"""The columnar fast path of v1 JSON lines gives exactly what the per-line validator gives."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from icarus.sensors.formats import v1_columnar
from icarus.sensors.formats.v1 import V1Jsonl

BASE: dict[str, object] = {
        "v": 1, "record_id": "s-1", "observed_at": "2024-04-01T00:12:13.416Z",
        "network": "edonkey", "ip": "86.3.200.82", "port": 12786, "content_kind": "ed2k",
        "content_id": "76be7e42106dc9d23c1b867e02d721c5", "file_name": "a.jpg",
        "file_size": 16004, "user_hash": "9236bdd7360eb15b4553d756f8dc6f2d",
        "ed2k_client_id": 1388839766, "guid": None, "peer_id": None, "client": "eMule",
        "nickname": "n", "sensor": "s", "evidence": "browsed"}
TRICKY: dict[str, list[object]] = {
    "v": [1, "1", 1.0, True, 2, None, 0],
    "observed_at": ["2024-02-30T00:00:00Z", "2024-12-31T23:59:60Z", "2024-01-01T24:00:00Z",
                    "0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2024-01-01T00:00:00.4Z",
                    "2024-01-01T00:00:00.1234567Z", "2024-01-01T00:00:00Z", "2024-01-01 00:00:00Z",
                    "2024-01-01T00:00:00+00:00", "２024-01-01T00:00:00Z", "", None, 5,
                    "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00.123456Z",
                    "2024-01-01T00:00:00.12a4Z", "2024-01-01T00:00:00Zx", "2024-01-01T00:00:00z",
                    "2024-01-01t00:00:00Z", "2024/01/01T00:00:00Z", "-024-01-01T00:00:00Z",
                    "2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "2024-01-01T00:00:0aZ",
                    "9999-12-31T23:59:59.999999Z", "2024-01-01T00:00:00.1234567",
                    "2024-1-01T00:00:00Z", "2024-01-01T00:00:00.1é4Z"],
    "network": ["kad", "gnutella", "bittorrent", "eDonkey", "", None, 3],
    "ip": ["::1", "2001:DB8::1", "010.1.1.1", "1.2.3.256", " 1.2.3.4", "1.2.3.4", "", None, 7],
    "port": [0, 65535, 65536, -1, "80", 80.0, True, None, 2**70],
    "content_kind": ["sha1", "md5", "tth", "btih", "btih-v2", "sha256", "pdq", "", None],
    "content_id": ["76BE7E42106DC9D23C1B867E02D721C5", " 76be7e42106dc9d23c1b867e02d721c5",
                   "76be7e42106dc9d23c1b867e02d721c", "zz", "", None, 12,
                   "OZ7Y4QRQNXJ5HQY3Q3TXQPZBLQPXVIEH"],
    "file_name": ["", None, "x" * 1024, "x" * 1025, 5, "é"],
    "file_size": [0, -1, 2**63 - 1, 2**63, "10", None, 1.5],
    "user_hash": ["", None, "9236BDD7360EB15B4553D756F8DC6F2D", "9236bdd7", 5,
                  "9236bdd7360eb15b4553d756f8dc6f2d0", "9236bdd7360eb15b4553d756f8dc6f2\n",
                  "9236bdd7360eb15b4553d756f8dc6f2é", "9236bdd7360eb15b4553d756f8dc6f2D"],
    "ed2k_client_id": [0, 2**32 - 1, 2**32, -5, None, "12"],
    "guid": ["", "9236bdd7360eb15b4553d756f8dc6f2d", "g236bdd7360eb15b4553d756f8dc6f2d",
             "9236BDD7360EB15B4553D756F8DC6F2D", " 236bdd7360eb15b4553d756f8dc6f2d"],
    "peer_id": ["2d71423435323030" + "0" * 24, "2d71", "", "2D71423435323030" + "0" * 24,
                "2d71423435323030" + "0" * 25, "2d71423435323030" + "0" * 23 + "/"],
    "client": ["", "c" * 128, "c" * 129, None],
    "nickname": ["", "n" * 256, "n" * 257],
    "record_id": ["", "r" * 129, 5, None],
    "sensor": ["", "s" * 128, "s" * 129, None, 1],
    "evidence": ["advertised", "handshake", "download-verified", "other", "", None],
    "extra": [1],
}
ODD_LINES = [b"", b"   ", b"not json", b"[1]", b'{"v": 1}{"v": 1}', b'{"v": 1, "v": 1}',
             b'\xef\xbb\xbf{"v": 1}', b'{"v": 1, "file_name": "\xff"}', b'"text"', b"{",
             b'{"v": 1, "file_name": "\\ud800"}']


def typed(key: str, value: object) -> bool:
    """Whether pyarrow parses ``value`` as the column type (so the vectorised checks see it)."""
    kind = type(BASE.get(key) or ("" if key in ("guid", "peer_id") else 0))
    if value is None:
        return True
    return type(value) is kind and (not isinstance(value, int) or abs(value) < 2**63)


def lines(seed: int, count: int) -> bytes:
    """Perturbed records; even seeds keep every value of its column's JSON type, so whole
    chunks parse and the vectorised checks (not pyarrow's parser) must catch them."""
    rng = random.Random(seed)
    same_type = seed % 2 == 0
    out: list[bytes] = []
    for _ in range(count):
        if not same_type and rng.random() < 0.02:
            out.append(rng.choice(ODD_LINES))
            continue
        rec = dict(BASE)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2])):
            key = rng.choice(sorted(k for k in TRICKY if k in BASE or not same_type))
            choices = [v for v in TRICKY[key] if typed(key, v) or not same_type]
            if choices:
                rec[key] = rng.choice(choices)
        if rng.random() < 0.05:
            rec.pop(rng.choice(sorted(rec)))
        if same_type and rng.random() < 0.5:
            rec = {k: v for k, v in rec.items() if v is not None}
        out.append(json.dumps(rec, ensure_ascii=rng.random() < 0.5).encode())
    if seed % 3 == 0:  # blank lines (LF, CR LF, spaces) between records
        for at in sorted(rng.sample(range(len(out)), 40), reverse=True):
            out.insert(at, rng.choice([b"", b"  ", b"\r"]))
    eol = b"\r\n" if seed % 4 == 1 else b"\n"
    return eol.join(out) + (eol if seed % 2 else b"")


class Sink:
    def __init__(self) -> None:
        self.rejects: list[tuple[str, str, str | None]] = []

    def reject(self, position: str, reason: str, raw: str | None = None) -> None:
        self.rejects.append((position, reason, raw))

    def warn(self, position: str, message: str) -> None:
        raise AssertionError(message)


def read(path: Path) -> tuple[list[str], list[tuple[str, str, str | None]]]:
    sink = Sink()
    got = [repr(item) for item in V1Jsonl().read(path, sink)]
    return got, sink.rejects


@pytest.mark.parametrize("seed", range(12))
def test_fast_path_equals_the_per_line_validator(seed: int, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(json.dumps(BASE).encode() + b"\n" + lines(seed, 3000))
    with monkeypatch.context() as m:
        if seed % 2:  # many blocks, cut anywhere
            m.setattr(v1_columnar, "BLOCK_BYTES", 20_000 + seed)
        fast = read(path)
    with monkeypatch.context() as m:
        m.setattr(v1_columnar, "_parse", lambda chunk: None)
        slow = read(path)
    assert fast == slow
    assert len(fast[0]) > 1000 and len(fast[1]) > 50


def test_content_digests_in_columns_equal_the_per_value_conversion() -> None:
    import base64

    import pyarrow as pa

    from icarus.sensors.formats.columns import content_digests

    rng = random.Random(7)
    kinds = ["ed2k", "md5", "sha1", "btih", "sha256", "btih-v2", "tth", "pdq", "aich", "x", None]
    texts: list[str | None] = [
        None, "", " " + "ab" * 16, "ab" * 16 + "\n", "é" * 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
        "abcdefghijklmnopqrstuvwxyz234567", "ABCDEFGHIJKLMNOPQRSTUVWXYZ23456=", "0" * 32,
        "G" * 32, "0" * 40]
    for size in (16, 20, 24, 32):
        for _ in range(20):
            raw = rng.randbytes(size)
            texts += [raw.hex(), raw.hex().upper(), raw.hex()[:-1] + "g",
                      base64.b32encode(raw).decode().rstrip("="),
                      base64.b32encode(raw).decode().lower(), base64.b32encode(raw).decode()]
    rows = [(rng.choice(kinds), rng.choice(texts)) for _ in range(5000)]
    kind_col = pa.array([k for k, _ in rows], pa.string())
    text_col = pa.array([t for _, t in rows], pa.string())
    got = content_digests(kind_col, text_col, v1_columnar.digest_or_none).to_pylist()
    want = [None if k is None or t is None else v1_columnar.digest_or_none(f"{k}\x1f{t}")
            for k, t in rows]
    assert got == want
    assert sum(v is not None for v in got) > 300  # valid spellings of each kind
