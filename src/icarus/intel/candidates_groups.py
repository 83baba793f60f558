"""One file, several identifiers: grouping the digests of candidate material.

Each network names a file by its own digest: eDonkey and Kad by the ed2k, Gnutella by the SHA-1,
BitTorrent by the torrent's infohash. No sighting carries two of them, so the grouping uses what
every sensor reports besides the digest: the file's **size** and **name**. Two identifiers of
*different* kinds belong to one file when their most often reported size is identical and their
most often reported name is the same once normalised (case, ``_`` for space and a trailing copy
marker such as ``" (1)"`` ignored). A key (size, name) that two identifiers of the *same* kind
share is ambiguous (two different files cannot have one ed2k each and be one file): its
identifiers stay alone. Identifiers without a size or a name stay alone too.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["KIND_ORDER", "group_identifiers", "normalise_names"]

KIND_ORDER = ("sha1", "ed2k", "md5", "sha256", "tth", "aich", "btih", "btih-v2")
"""Which identifier stands for a group (first present): file digests before a torrent's, as a
torrent may carry several files."""


def normalise_names(names: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Names compared for grouping: lower case, ``_`` as a space, runs of spaces as one, a
    trailing copy marker (``" (2)"`` before the extension) dropped, trimmed."""
    out = pc.utf8_lower(names)
    out = pc.replace_substring(out, "_", " ")
    out = pc.replace_substring_regex(out, r"\s+", " ")
    out = pc.replace_substring_regex(out, r" ?\(\d{1,3}\)(\.[^. ]{1,8})?$", r"\1")
    return pc.utf8_trim_whitespace(out)


def group_identifiers(seen: pa.Table) -> pa.Table:
    """Group the identifiers of ``seen`` (columns ``kind``, ``id``, ``size``, ``name``: one row
    per sighting) by file.

    Returns one row per identifier (``kind``, ``id``, the identifier's most reported ``size``
    and raw ``name``) with ``group``, an int64 shared by the identifiers of one file, and
    ``primary``, true for the identifier that stands for its group (:data:`KIND_ORDER`, then
    the digest). The output depends only on the input.
    """
    counted = pa.table({"kind": seen["kind"], "id": seen["id"], "size": seen["size"],
                        "name": seen["name"]}).group_by(
        ["kind", "id", "size", "name"], use_threads=False).aggregate([([], "count_all")])
    # each identifier's most reported (size, name): the first after sorting by count
    counted = counted.sort_by([("kind", "ascending"), ("id", "ascending"),
                               ("count_all", "descending"), ("size", "ascending"),
                               ("name", "ascending")])
    kind = counted["kind"].to_numpy(zero_copy_only=False)
    ident = counted["id"].to_numpy(zero_copy_only=False)
    first = np.ones(len(kind), dtype=bool)
    if len(kind) > 1:
        first[1:] = (kind[1:] != kind[:-1]) | (ident[1:] != ident[:-1])
    ids = counted.filter(pa.array(first)).drop_columns(["count_all"])
    n = ids.num_rows
    key = pa.table({"size": ids["size"], "norm": normalise_names(ids["name"]),
                    "kind": ids["kind"], "row": pa.array(np.arange(n))})
    usable = pc.and_(pc.and_(pc.is_valid(key["size"]), pc.greater(key["size"], 0)),
                     pc.greater(pc.utf8_length(pc.fill_null(key["norm"], "")), 0))
    key = key.filter(pc.fill_null(usable, False))
    per_kind = key.group_by(["size", "norm", "kind"], use_threads=False).aggregate(
        [([], "count_all")])
    keys = per_kind.group_by(["size", "norm"], use_threads=False).aggregate(
        [("count_all", "max"), ("kind", "count")])
    # a key some kind holds twice is ambiguous; a key of one kind alone groups nothing
    keys = keys.filter(pc.and_(pc.equal(keys["count_all_max"], 1),
                               pc.greater(keys["kind_count"], 1)))
    keys = keys.sort_by([("size", "ascending"), ("norm", "ascending")])
    keys = keys.append_column("key", pa.array(np.arange(keys.num_rows, dtype=np.int64)))
    joined = key.join(keys.select(["size", "norm", "key"]), ["size", "norm"],
                      join_type="inner", use_threads=False)
    group = np.arange(n, dtype=np.int64) + keys.num_rows  # alone: a group of its own
    rows = joined["row"].to_numpy()
    group[rows] = joined["key"].to_numpy()
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    rank = np.array([order.get(k, len(KIND_ORDER)) for k in
                     ids["kind"].to_pylist()], dtype=np.int64)
    # the primary: lowest kind rank, then the lowest digest, of each group
    by = np.lexsort((np.arange(n), rank, group))
    primary = np.zeros(n, dtype=bool)
    if n:
        g = group[by]
        lead = np.ones(n, dtype=bool)
        lead[1:] = g[1:] != g[:-1]
        primary[by[lead]] = True
    return ids.append_column("group", pa.array(group)).append_column(
        "primary", pa.array(primary))
