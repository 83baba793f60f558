"""On-disk form shared by the compiled indexes: a directory of ``.npy`` arrays and a manifest.

An index directory holds one ``manifest.json`` (format name and version, digest kind, entry
count, build time, index parameters, and the dtype and shape of every array) and one ``.npy``
file per array, written with ``allow_pickle=False``. Opening memory-maps the arrays and reads
only their headers: no checksum, no copy, so an index of any size opens in milliseconds and its
pages are read from disk only as queries touch them.

A directory is written whole or not at all: it is built in a temporary sibling directory and
renamed into place, so a crash or an error leaves the target as it was.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from icarus.core.errors import CorruptInputError, NotFoundError, StateError
from icarus.core.files import fsync_dir

MANIFEST = "manifest.json"

Params = Mapping[str, Any]
"""Index-specific parameters: JSON scalars and lists only."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """What an index directory holds, as written in its ``manifest.json``."""

    format: str
    """The index type, e.g. ``icarus-exact-index``."""
    version: int
    kind: str
    """The digest kind the index holds (a hash-kind name: md5, sha1, pdq...)."""
    count: int
    """Entries indexed (rows of the input given to ``build``)."""
    built_at: str
    """ISO 8601 UTC time of the build."""
    params: Mapping[str, Any] = field(default_factory=dict)
    arrays: Mapping[str, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    """Array name -> (dtype string, shape), checked against each file's header at open."""


def write_index(
    out_dir: Path,
    *,
    index_format: str,
    version: int,
    kind: str,
    count: int,
    arrays: Mapping[str, np.ndarray],
    params: Params | None = None,
    replace: bool = False,
) -> Manifest:
    """Write ``arrays`` and their manifest to ``out_dir`` atomically; return the manifest.

    The directory appears complete or not at all. An existing ``out_dir`` raises
    :class:`StateError` unless ``replace`` is true, in which case it is swapped out after the
    new one is complete (between the two renames the path briefly does not exist).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not replace:
        raise StateError(f"{out_dir}: an index already exists there")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        specs: dict[str, tuple[str, tuple[int, ...]]] = {}
        for name, array in arrays.items():
            contiguous = np.ascontiguousarray(array)
            _save_array(tmp / f"{name}.npy", contiguous)
            specs[name] = (contiguous.dtype.str, tuple(int(d) for d in contiguous.shape))
        manifest = Manifest(
            format=index_format,
            version=version,
            kind=kind,
            count=int(count),
            built_at=datetime.now(UTC).isoformat(timespec="seconds"),
            params=dict(params or {}),
            arrays=specs,
        )
        _write_manifest(tmp / MANIFEST, manifest)
        fsync_dir(tmp)
        _move_into_place(tmp, out_dir, replace=replace)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def read_index(
    directory: Path, *, index_format: str, version: int
) -> tuple[Manifest, dict[str, np.ndarray]]:
    """Open an index directory: its manifest and its arrays, memory-mapped read-only.

    Raises :class:`NotFoundError` if there is no index there and :class:`CorruptInputError`
    (naming the file) if the manifest or an array header is not what the format requires.
    Only headers are read: the data pages are not touched.
    """
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise NotFoundError(f"{directory}: no index here (missing {MANIFEST})")
    manifest = _read_manifest(path)
    if manifest.format != index_format:
        raise CorruptInputError(f"is a {manifest.format!r}, not a {index_format!r}", path=path)
    if manifest.version != version:
        raise CorruptInputError(
            f"format version {manifest.version} is not supported (expected {version}): "
            "rebuild the index",
            path=path,
        )
    arrays = {
        name: _open_array(directory / f"{name}.npy", dtype, shape)
        for name, (dtype, shape) in manifest.arrays.items()
    }
    return manifest, arrays


def _save_array(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _open_array(path: Path, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    try:
        mapped = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise CorruptInputError(f"unreadable index array ({exc})", path=path) from None
    if mapped.dtype.str != dtype or tuple(mapped.shape) != shape:
        raise CorruptInputError(
            f"array is {mapped.dtype.str}{list(mapped.shape)}, manifest says {dtype}{list(shape)}",
            path=path,
        )
    # A plain ndarray view: the memmap subclass adds overhead to every fancy-indexing result.
    return np.asarray(mapped)


def _write_manifest(path: Path, manifest: Manifest) -> None:
    document = {
        "format": manifest.format,
        "version": manifest.version,
        "kind": manifest.kind,
        "count": manifest.count,
        "built_at": manifest.built_at,
        "params": dict(manifest.params),
        "arrays": {n: {"dtype": d, "shape": list(s)} for n, (d, s) in manifest.arrays.items()},
    }
    with path.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _read_manifest(path: Path) -> Manifest:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        arrays = {
            str(name): (str(spec["dtype"]), tuple(int(d) for d in spec["shape"]))
            for name, spec in document["arrays"].items()
        }
        return Manifest(
            format=str(document["format"]),
            version=int(document["version"]),
            kind=str(document["kind"]),
            count=int(document["count"]),
            built_at=str(document["built_at"]),
            params=dict(document.get("params", {})),
            arrays=arrays,
        )
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptInputError(f"unreadable index manifest ({exc!r})", path=path) from None


def _move_into_place(tmp: Path, out_dir: Path, *, replace: bool) -> None:
    if not (replace and out_dir.exists()):
        try:
            tmp.rename(out_dir)
        except OSError as exc:
            raise StateError(f"{out_dir}: cannot move the new index into place ({exc})") from None
        fsync_dir(out_dir.parent)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
    old.rmdir()
    out_dir.rename(old)
    try:
        tmp.rename(out_dir)
    except BaseException:
        old.rename(out_dir)
        raise
    fsync_dir(out_dir.parent)
    shutil.rmtree(old, ignore_errors=True)




def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenation of the ranges [start, start + count), as int64, without a Python loop."""
    counts = counts.astype(np.int64)
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    # Position k of the output lies in range i: start_i + (k - (ends_i - count_i)).
    positions: np.ndarray = np.arange(total) + np.repeat(
        starts.astype(np.int64) - (ends - counts), counts
    )
    return positions
