"""Reading one table file (Parquet or CSV) against a column specification, with clear errors.

Both the results folder and the truth folder are read through here: a column that is missing,
of the wrong type, or empty where it may not be, is refused with an :class:`InputError` naming
the file, the column and the first offending row. Columns not in the specification are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from icarus.core.errors import CorruptInputError, InputError

Kind = Literal["text", "bool", "int", "float", "binary"]
ARROW: dict[Kind, pa.DataType] = {
    "text": pa.string(), "bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(),
    "binary": pa.binary(),
}
_TRUE = {"true", "1"}
_FALSE = {"false", "0"}
_INT = re.compile(r"^-?[0-9]{1,18}$")


@dataclass(frozen=True, slots=True)
class Column:
    """A column a table must have: its name, what it holds, and whether it may be empty."""

    name: str
    kind: Kind
    nullable: bool = False


def read_table(path: Path, columns: tuple[Column, ...]) -> pa.Table:
    """The ``columns`` of the Parquet or CSV file ``path``, converted to their canonical types.

    Canonical types: text → string, bool → bool, int → int64, float → float64 (finite),
    binary → binary. Integers are accepted for text columns (written as decimal text); CSV
    cells are parsed (bool: true/false/1/0, any case; only an empty cell is null). Raises
    :class:`InputError` naming the file, the column and the row when a column is missing, of
    another type, or empty where it may not be; :class:`CorruptInputError` when the file
    cannot be parsed at all.
    """
    if path.suffix == ".parquet":
        raw = _read_parquet(path, columns)
    elif path.suffix == ".csv":
        raw = _read_csv(path, columns)
    else:
        raise InputError("only .parquet and .csv table files are read", path=path)
    text_typed = path.suffix == ".csv"
    arrays = [_convert(raw.column(c.name), c, path, text_typed) for c in columns]
    return pa.table(arrays, names=[c.name for c in columns])


def first_true(mask: pa.ChunkedArray | pa.Array) -> int:
    """The index of the first true value of a boolean array (nulls count as false), or -1."""
    flags = pc.fill_null(mask, False).to_numpy(zero_copy_only=False)
    hits = np.flatnonzero(flags)
    return int(hits[0]) if hits.size else -1


def _read_parquet(path: Path, columns: tuple[Column, ...]) -> pa.Table:
    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError) as exc:
        raise CorruptInputError(f"not a readable Parquet file ({exc})", path=path) from None
    _require(path, columns, schema.names)
    try:
        return pq.read_table(path, columns=[c.name for c in columns])
    except (pa.ArrowException, OSError) as exc:
        raise CorruptInputError(f"cannot read the Parquet file ({exc})", path=path) from None


def _read_csv(path: Path, columns: tuple[Column, ...]) -> pa.Table:
    # Every wanted column is read as text and converted here, so a bad value is reported with
    # its column and row; only "" is null ("NA" is Namibia, not "not available").
    options = pacsv.ConvertOptions(
        column_types={c.name: pa.string() for c in columns},
        null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
        include_columns=None,
    )
    try:
        table = pacsv.read_csv(path, convert_options=options)
    except (pa.ArrowException, OSError) as exc:
        raise CorruptInputError(f"not a readable CSV file ({exc})", path=path) from None
    _require(path, columns, table.column_names)
    return table


def _require(path: Path, columns: tuple[Column, ...], present: list[str]) -> None:
    for c in columns:
        if c.name not in present:
            found = ", ".join(present) or "none"
            raise InputError(f"column {c.name!r} is missing (columns found: {found})", path=path)


def _convert(array: pa.ChunkedArray, column: Column, path: Path,
             text_typed: bool) -> pa.ChunkedArray:
    where = f"column {column.name!r}"
    kind = column.kind
    t = array.type
    if pa.types.is_dictionary(t):
        array = array.cast(t.value_type)
        t = array.type
    if (pa.types.is_string(t) or pa.types.is_large_string(t)) and (text_typed or kind == "text"):
        out = _from_text(array.cast(pa.string()), column, path)
    elif kind == "text" and pa.types.is_integer(t):
        out = array.cast(pa.string())
    elif kind == "bool" and pa.types.is_boolean(t):
        out = array
    elif kind == "int" and pa.types.is_integer(t):
        out = array.cast(pa.int64())
    elif kind == "float" and (pa.types.is_floating(t) or pa.types.is_integer(t)):
        out = array.cast(pa.float64())
    elif kind == "binary" and (pa.types.is_binary(t) or pa.types.is_fixed_size_binary(t)
                               or pa.types.is_large_binary(t)):
        out = array.cast(pa.binary())
    else:
        raise InputError(f"{where} must hold {kind} values, found Arrow type {t}", path=path)
    if not column.nullable and out.null_count:
        row = first_true(pc.is_null(out))
        raise InputError(f"row {row + 1}: {where} is empty", path=path)
    if kind == "float":
        bad = first_true(pc.invert(pc.is_finite(out)))
        if bad >= 0:
            raise InputError(f"row {bad + 1}: {where} is not a finite number", path=path)
    return out


def _from_text(array: pa.ChunkedArray, column: Column, path: Path) -> pa.ChunkedArray:
    kind = column.kind
    if kind == "text":
        return array
    if kind == "binary":
        raise InputError(f"column {column.name!r} must hold binary values, found text", path=path)
    text = pc.utf8_trim_whitespace(array)
    if kind == "bool":
        low = pc.utf8_lower(text)
        valid = pc.is_in(low, value_set=pa.array(sorted(_TRUE | _FALSE)))
        _refuse_invalid(array, pc.invert(valid), column, path)
        return pc.if_else(pc.is_null(low), pa.scalar(None, pa.bool_()),
                          pc.is_in(low, value_set=pa.array(sorted(_TRUE))))
    if kind == "int":
        _refuse_invalid(array, pc.invert(pc.match_substring_regex(text, _INT.pattern)),
                        column, path)
        return text.cast(pa.int64())
    try:
        return text.cast(pa.float64())
    except pa.ArrowInvalid:
        values = text.to_pylist()
        for row, value in enumerate(values):
            try:
                if value is not None:
                    float(value)
            except ValueError:
                _refuse_row(row, value, column, path)
        raise


def _refuse_invalid(array: pa.ChunkedArray, invalid: pa.ChunkedArray, column: Column,
                    path: Path) -> None:
    row = first_true(invalid)
    if row >= 0:
        _refuse_row(row, array[row].as_py(), column, path)


def _refuse_row(row: int, value: str, column: Column, path: Path) -> NoReturn:
    raise InputError(f"row {row + 1}: column {column.name!r}: {value[:80]!r} is not a valid "
                     f"{column.kind} value", path=path)
