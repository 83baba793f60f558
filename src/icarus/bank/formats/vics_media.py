"""One VICS ``Media`` object (a parsed JSON dict) into a :class:`BankRecord`.

Kept apart from the envelope and streaming code in :mod:`.vics` so each stays small. The rules:

* ``MD5`` is mandatory: a Media without a valid MD5 is rejected.
* ``SHA1``, ``PhotoDNA`` and ``AlternativeHashes`` values that are invalid are dropped with a
  warning; the record is kept.
* ``Category`` is kept as raw text (``1`` and ``"1"`` both give ``"1"``); absent or null is
  ``None`` (uncategorised). The set's scheme gives it meaning.
* Boolean fields may be JSON booleans or the strings ``"true"``/``"false"``.
* Fields the bank does not keep (DateUpdated, Tags, Comments, MimeType, case fields, OData
  navigation keys such as ``odata.id``) are ignored.
"""

from __future__ import annotations

import json
from typing import Any

from icarus.bank.formats.base import parse_bool, parse_hash, parse_size, try_hash
from icarus.core.errors import InvalidIdentifierError
from icarus.core.sinks import RecordSink
from icarus.domain.bank import BankRecord
from icarus.domain.categories import Flag
from icarus.domain.digests import Digest

FLAG_FIELDS: tuple[tuple[str, str], ...] = (
    ("VictimIdentified", Flag.VICTIM_IDENTIFIED.value),
    ("OffenderIdentified", Flag.OFFENDER_IDENTIFIED.value),
    ("IsDistributed", Flag.DISTRIBUTED.value),
    ("IsPrecategorized", Flag.PRECATEGORISED.value),
    ("IsSuspected", Flag.SUSPECTED.value),
)
"""VICS boolean field -> Icarus flag; shared with the exporter."""

ALTERNATIVE_HASH_KINDS = {
    "MD5": "md5",
    "SHA1": "sha1",
    "SHA256": "sha256",
    "ED2K": "ed2k",
    "PDQ": "pdq",
    "PHOTODNA": "photodna",
    "TTH": "tth",
    "VPDQ": "vpdq",
    "BTIH": "btih",
    "BTIH2": "btih-v2",
}
"""``AlternativeHashes[].HashName`` (upper-cased, without ``-``, ``_`` or spaces) -> kind."""


def alternative_kind(name: str) -> str | None:
    """The hash kind of an ``AlternativeHashes`` name ("SHA-256", "eD2k"...), if known."""
    key = name.upper().replace("-", "").replace("_", "").replace(" ", "")
    return ALTERNATIVE_HASH_KINDS.get(key)


def media_record(media: Any, index: int, sink: RecordSink) -> BankRecord | None:
    """The record of Media number ``index`` (from 1), or ``None`` after rejecting it."""
    if not isinstance(media, dict):
        sink.reject(f"record {index}", "not a Media object", _raw(media))
        return None
    media_id = media.get("MediaID")
    where = f"record {index}" if media_id is None else f"record {index} (MediaID {media_id})"

    md5_text = media.get("MD5")
    if md5_text is None or (isinstance(md5_text, str) and not md5_text.strip()):
        sink.reject(where, "MD5 missing", _raw(media))
        return None
    if not isinstance(md5_text, str):
        sink.reject(where, f"MD5 is not text: {md5_text!r}", _raw(media))
        return None
    try:
        digests = [parse_hash("md5", md5_text)]
    except InvalidIdentifierError as exc:
        sink.reject(where, f"invalid MD5: {exc}", _raw(media))
        return None

    for field, kind in (("SHA1", "sha1"), ("PhotoDNA", "photodna")):
        found = try_hash(kind, media.get(field))
        if isinstance(found, Digest):
            digests.append(found)
        elif found is not None:
            sink.warn(where, f"{field} dropped: {found}")
    alternatives = media.get("AlternativeHashes")
    if alternatives:
        _add_alternatives(alternatives, digests, where, sink)

    size: int | None = None
    try:
        size = parse_size(media.get("MediaSize"))
    except ValueError as exc:
        sink.warn(where, f"MediaSize ignored: {exc}")

    return BankRecord(
        digests=tuple(digests),
        source_category=_category(media.get("Category"), where, sink),
        size=size,
        name=_first_file_name(media.get("MediaFiles")),
        flags=_flags(media, where, sink),
        series=_text(media.get("Series")),
        source_id=None if media_id is None else str(media_id),
    )


def _add_alternatives(items: Any, digests: list[Digest], where: str, sink: RecordSink) -> None:
    if not isinstance(items, list):
        sink.warn(where, "AlternativeHashes is not a list: ignored")
        return
    for item in items:
        if not isinstance(item, dict):
            sink.warn(where, f"AlternativeHashes entry ignored: {item!r}")
            continue
        name = item.get("HashName")
        kind = alternative_kind(name) if isinstance(name, str) else None
        if kind is None:
            sink.warn(where, f"unknown alternative hash {name!r} ignored")
            continue
        found = try_hash(kind, item.get("HashValue"))
        if found is None:
            continue
        if not isinstance(found, Digest):
            sink.warn(where, f"alternative hash {name} dropped: {found}")
            continue
        present = [d for d in digests if d.kind == kind]
        if not present:
            digests.append(found)
        elif found not in present:
            sink.warn(where, f"alternative hash {name} differs from the record's {kind}: ignored")


def _category(value: Any, where: str, sink: RecordSink) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        sink.warn(where, f"Category {value!r} is not a category: treated as uncategorised")
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return value.strip() or None
    sink.warn(where, f"Category {value!r} is not a category: treated as uncategorised")
    return None


_NO_FLAGS: frozenset[str] = frozenset()


def _flags(media: dict[str, Any], where: str, sink: RecordSink) -> frozenset[str]:
    flags: list[str] = []
    for field, flag in FLAG_FIELDS:
        value = media.get(field)
        # the common spellings first: this runs for every Media of multi-GB files
        if value is None or value is False or value == "false":
            continue
        if value is True or value == "true":
            flags.append(flag)
            continue
        truth = parse_bool(value)
        if truth is None:
            sink.warn(where, f"{field} {value!r} is not a boolean: ignored")
        elif truth:
            flags.append(flag)
    return frozenset(flags) if flags else _NO_FLAGS


def _first_file_name(files: Any) -> str | None:
    if isinstance(files, list):
        for entry in files:
            if isinstance(entry, dict):
                name = _text(entry.get("FileName"))
                if name:
                    return name
    return None


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    return None


def _raw(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
