"""The "tool A" export style: semicolon-separated CSV as a Windows investigation tool writes it.

The precise definition is ``docs/formats/tool-exports.md``: UTF-8 with a byte-order mark, CRLF
line ends, a header row, dates ``DD/MM/YYYY`` and times ``HH:MM:SS`` in UTC (milliseconds are
lost), upper-case hex digests, the tool's own names for networks and evidence levels. The file
does not name its sensor: the file name does.
"""

from __future__ import annotations

import csv
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import UsageError
from icarus.sim.formats import noise, text
from icarus.sim.formats.base import EVIDENCE_LEVELS, Pieces, Style, digest_texts

COLUMNS = ("RecordNo", "Date", "Time", "IP", "Port", "Network", "ClientGUID", "ClientID",
           "PeerID", "Client", "Nick", "Hash", "HashType", "FileName", "FileSize", "Evidence")
"""The header row, in order."""

NETWORKS = {"edonkey": "eDonkey", "kad": "Kad", "gnutella": "Gnutella",
            "bittorrent": "BitTorrent"}
"""v1 network name -> tool A ``Network``."""

HASH_TYPES = {"ed2k": "ED2K", "sha1": "SHA1", "btih": "BTIH", "md5": "MD5", "sha256": "SHA256"}
"""v1 content kind -> tool A ``HashType``."""

EVIDENCE = dict(zip(EVIDENCE_LEVELS, ("SOURCE", "BROWSE", "HANDSHAKE", "DOWNLOAD"), strict=True))
"""v1 evidence level -> tool A ``Evidence``."""

DELIMITER = ";"
REQUIRED = ("Date", "Time", "IP", "Network", "Hash", "HashType")
"""Required cells a "missing-field" row leaves empty."""


def map_values(values: pa.Array, mapping: dict[str, str], what: str) -> pa.Array:
    """Every value translated by ``mapping``; a value it lacks raises :class:`UsageError`."""
    index = pc.index_in(values, value_set=pa.array(list(mapping), pa.string()))
    if index.null_count > values.null_count:
        unknown = values.filter(pc.is_null(index)).unique().to_pylist()
        raise UsageError(f"cannot write {what} {unknown!r} in this style")
    return pa.array(list(mapping.values()), pa.string()).take(index)


def _upper_hex(kind: str, digests: pa.Array) -> pa.Array:
    return text.hex_text(digests, digests.type.byte_width, upper=True)


class ToolAStyle(Style):
    """Tool A CSV; record ids are the 1-based ``RecordNo`` numbers."""

    NAME: ClassVar[str] = "tool-a"
    EXTENSION: ClassVar[str] = "csv"
    SUFFIX: ClassVar[str] = "\r\n"

    def record_ids(self, sensor: str, seq: npt.NDArray[np.int64]) -> pa.Array:
        """``RecordNo``: the record's number counted from 1."""
        return text.decimal(np.asarray(seq, dtype=np.int64) + 1)

    def header(self, sensor: str) -> bytes:
        """The byte-order mark and the header row."""
        return ("\ufeff" + DELIMITER.join(COLUMNS) + self.SUFFIX).encode("utf-8")

    def lines(self, batch: pa.Table) -> pa.Array:
        """One CSV row per record (cells in :data:`COLUMNS` order, absent values empty)."""
        col = {name: batch.column(name).combine_chunks() for name in batch.column_names}
        ms = col["observed_at"].cast(pa.int64()).to_numpy(zero_copy_only=False)
        guid = pc.coalesce(text.hex_text(col["user_hash"], 16, upper=True),
                           text.hex_text(col["guid"], 16, upper=True))

        def quoted(values: pa.Array) -> pa.Array:
            return text.csv_field(values, DELIMITER)

        cells: list[tuple[pa.Array, Any, bool]] = [
            (col["record_id"], quoted, False), (text.date_dmy(ms), None, True),
            (text.time_hms(ms), None, False), (col["ip"], quoted, False),
            (text.decimal(col["port"]), None, False),
            (map_values(col["network"], NETWORKS, "network"), None, True), (guid, None, False),
            (text.decimal(col["ed2k_client_id"]), None, False),
            (text.hex_text(col["peer_id"], 20, upper=True), None, False),
            (col["client"], quoted, False), (col["nickname"], quoted, False),
            (digest_texts(batch, _upper_hex), None, False),
            (map_values(col["content_kind"], HASH_TYPES, "content kind"), None, True),
            (col["file_name"], quoted, False), (text.decimal(col["file_size"]), None, False),
            (map_values(col["evidence"], EVIDENCE, "evidence"), None, False),
        ]
        line = Pieces(len(batch))
        for i, (values, escape, constant) in enumerate(cells):
            line.lit(DELIMITER if i else "")
            line.field("", values, "", escape, constant=constant)
        return line.build()

    def corrupt(self, line: str, kind: str, rng: np.random.Generator) -> str:
        """broken: one to three trailing cells lost; missing-field: a required cell emptied;
        bad-ip / bad-hash: ``IP`` / ``Hash`` replaced by an invalid value."""
        cells = next(csv.reader([line], delimiter=DELIMITER))
        if kind == "broken":
            cells = cells[: len(cells) - int(rng.integers(1, 4))]
        elif kind == "missing-field":
            cells[COLUMNS.index(REQUIRED[int(rng.integers(len(REQUIRED)))])] = ""
        elif kind == "bad-ip":
            cells[COLUMNS.index("IP")] = noise.bad_ip(rng)
        elif kind == "bad-hash":
            i = COLUMNS.index("Hash")
            cells[i] = noise.bad_hash(cells[i], rng)
        else:
            raise UsageError(f"unknown malformation {kind!r}")
        return DELIMITER.join(text.csv_cell(c, DELIMITER) for c in cells)
