"""What every sighting style shares: the batch it formats, its contract, and the file writer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import UsageError
from icarus.sim.formats import text

EVIDENCE_LEVELS = ("advertised", "browsed", "handshake", "download-verified")
"""Evidence levels of sighting format v1, weakest first (index + 1 = tool B's ``level``)."""

DIGEST_SIZES = {"ed2k": 16, "md5": 16, "sha1": 20, "btih": 20, "sha256": 32}
"""Byte sizes of the content kinds the writers accept."""

SIGHTING_BATCH = pa.schema([
    pa.field("record_id", pa.string(), nullable=False),
    pa.field("observed_at", pa.timestamp("ms", tz="UTC"), nullable=False),  # sensor's clock
    pa.field("network", pa.string(), nullable=False),  # edonkey | kad | gnutella | bittorrent
    pa.field("ip", pa.string(), nullable=False),
    pa.field("port", pa.int32(), nullable=False),
    pa.field("content_kind", pa.string(), nullable=False),  # ed2k | sha1 | btih (| md5, sha256)
    pa.field("content_digest", pa.binary(), nullable=False),  # raw bytes
    pa.field("file_name", pa.string()),
    pa.field("file_size", pa.int64()),
    pa.field("user_hash", pa.binary(16)),
    pa.field("ed2k_client_id", pa.int64()),
    pa.field("guid", pa.binary(16)),
    pa.field("peer_id", pa.binary(20)),
    pa.field("client", pa.string()),
    pa.field("nickname", pa.string()),
    pa.field("sensor", pa.string(), nullable=False),
    pa.field("evidence", pa.string(), nullable=False),  # one of EVIDENCE_LEVELS
])
"""The sightings every style formats: one row per record, absent identifiers null."""


class Style(ABC):
    """A sighting file style: how records become lines, and how a line is spoiled."""

    NAME: ClassVar[str]
    EXTENSION: ClassVar[str]
    SUFFIX: ClassVar[str] = "\n"
    """Written after every line (tool B separates lines by a leading comma instead)."""

    @abstractmethod
    def record_ids(self, sensor: str, seq: npt.NDArray[np.int64]) -> pa.Array:
        """The record ids a sensor of this style gives its records number ``seq`` (from 0);
        distinct ``seq`` give distinct ids."""

    @abstractmethod
    def lines(self, batch: pa.Table) -> pa.Array:
        """One line of text per row of ``batch`` (schema :data:`SIGHTING_BATCH`), without the
        line separator."""

    @abstractmethod
    def corrupt(self, line: str, kind: str, rng: np.random.Generator) -> str:
        """``line`` spoiled in the way ``kind`` names (see :mod:`~icarus.sim.formats.noise`):
        the result is no longer a valid record of this style."""

    def header(self, sensor: str) -> bytes:
        """What the file starts with."""
        return b""

    def footer(self) -> bytes:
        """What a complete file ends with (a truncated file lacks it)."""
        return b""

    def separator(self, first: bool) -> str:
        """Written before a line; ``first`` for the file's first line."""
        return ""


def digest_texts(batch: pa.Table, encode: Callable[[str, pa.Array], pa.Array]) -> pa.Array:
    """The text of every row's content digest: ``encode(kind, fixed-size digests)`` per kind.

    Raises :class:`UsageError` for a kind the writers do not know or a digest of the wrong size.
    """
    kinds = batch.column("content_kind").combine_chunks()
    digests = batch.column("content_digest").combine_chunks()
    result: pa.Array = pa.nulls(len(batch), pa.string())
    for kind in pc.unique(kinds).to_pylist():
        size = DIGEST_SIZES.get(kind)
        if size is None:
            raise UsageError(f"sighting writers cannot write content kind {kind!r}")
        mask = pc.equal(kinds, pa.scalar(kind, pa.string()))
        chosen = digests.filter(mask)
        lengths = pc.binary_length(chosen)
        if len(chosen) and (pc.min(lengths).as_py() != size or pc.max(lengths).as_py() != size):
            raise UsageError(f"{kind} digests must be {size} bytes")
        result = pc.replace_with_mask(result, mask, encode(kind, chosen.cast(pa.binary(size))))
    return result


class Pieces:
    """A line built from literals and columns, with the cheap cases made cheap.

    Adjacent literals are merged; a column with one value in every row becomes a literal; an
    all-null column disappears; only a column mixing nulls and values costs a join of its own.
    (Concatenation costs per piece and row, so fewer pieces means faster lines.)
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.parts: list[Any] = []

    def lit(self, literal: str) -> None:
        """Append fixed text."""
        if self.parts and isinstance(self.parts[-1], str):
            self.parts[-1] += literal
        elif literal:
            self.parts.append(literal)

    def field(self, prefix: str, values: pa.Array, suffix: str = "", escape: Any = None, *,
              constant: bool = False) -> None:
        """Append ``prefix + escape(value) + suffix`` in rows where the value is set.

        ``escape`` (a column function, e.g. :func:`json_body`) is applied to the column, or,
        with ``constant`` (a hint that the column often holds one value), to that single value
        when it does.
        """
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if values.null_count == len(values):
            return
        if constant and values.null_count == 0 and pa.types.is_string(values.type):
            low, high = pc.min_max(values).values()
            if low.as_py() == high.as_py():
                one = pa.array([low.as_py()], pa.string())
                self.lit(prefix + (escape(one) if escape else one)[0].as_py() + suffix)
                return
        shown = escape(values) if escape else values
        if values.null_count:
            self.parts.append(text.optional(prefix, shown, suffix))
        else:
            self.lit(prefix)
            self.parts.append(shown)
            self.lit(suffix)

    def build(self) -> pa.Array:
        """The lines."""
        if not any(isinstance(p, pa.Array) for p in self.parts):
            return pa.repeat(pa.scalar("".join(self.parts), pa.string()), self.rows)
        return text.join(*self.parts)


class SightingFile:
    """One sensor's sighting file, written in a stream of line batches.

    The last line given is held back until the next batch or :meth:`close`, so that ``close``
    can cut it short (a truncated file) and then omit the footer.
    """

    def __init__(self, path: Path, style: Style, sensor: str) -> None:
        self.path = path
        self.style = style
        self.lines_written = 0
        self._out: IO[bytes] = path.open("wb")
        self._out.write(style.header(sensor))
        self._first = True
        self._pending: str | None = None

    def write(self, lines: pa.Array) -> None:
        """Append ``lines`` (bare lines of this style, as :meth:`Style.lines` makes them)."""
        if len(lines) == 0:
            return
        if self._pending is not None:
            self._emit_one(self._pending + self.style.SUFFIX)
        body = lines.slice(0, len(lines) - 1)
        if self._first and len(body):
            self._emit_one(body[0].as_py() + self.style.SUFFIX)
            body = body.slice(1)
        if len(body):
            text.write_lines(self._out, text.join(self.style.separator(False), body,
                                                  self.style.SUFFIX))
            self.lines_written += len(body)
        self._pending = lines[len(lines) - 1].as_py()

    def close(self, cut: Callable[[str], str] | None = None) -> bool:
        """Finish the file; with ``cut``, its last line is replaced by ``cut(line)`` and written
        without separator or footer. Returns whether the file was truncated."""
        truncated = False
        if self._pending is not None:
            if cut is not None:
                self._emit_one(cut(self._pending))
                truncated = True
            else:
                self._emit_one(self._pending + self.style.SUFFIX)
            self._pending = None
        if not truncated:
            self._out.write(self.style.footer())
        self._out.close()
        return truncated

    def abandon(self) -> None:
        """Release the file handle if :meth:`close` was never reached (an error elsewhere)."""
        if not self._out.closed:
            self._out.close()

    def _emit_one(self, line: str) -> None:
        self._out.write((self.style.separator(self._first) + line).encode("utf-8"))
        self._first = False
        self.lines_written += 1

    def __enter__(self) -> SightingFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.abandon()
