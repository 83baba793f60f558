"""Tool B exports: one JSON document, an envelope and a ``results`` array, one result a line.

The file is read line by line (not parsed whole), so a truncated file yields every complete
result before the cut and rejects the cut one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from icarus.core.errors import FormatMismatchError
from icarus.core.sinks import RecordSink
from icarus.sensors.formats.base import (
    RecordError,
    SightingRecord,
    build_record,
    first_line,
    require_format,
)

_PROTOCOLS = {"ed2k": "edonkey", "kad": "kad", "gnutella": "gnutella",
              "bittorrent": "bittorrent"}
_URNS = {"urn:ed2khash:": "ed2k", "urn:sha1:": "sha1", "urn:btih:": "btih"}
_LEVELS = {1: "advertised", 2: "browsed", 3: "handshake", 4: "download-verified"}
_REQUIRED = ("id", "ts", "proto", "peer", "urn", "level")
_KEYS = frozenset({*_REQUIRED, "name", "size", "uid", "cid", "pid", "agent", "nick"})


def _envelope(line: str) -> dict[str, Any] | None:
    try:
        env = json.loads(line + "]}")
    except ValueError:
        return None
    return env if isinstance(env, dict) and env.get("results") == [] else None


def _peer(value: Any) -> tuple[str, int]:
    if not isinstance(value, str) or ":" not in value:
        raise RecordError(f"peer: expected ip:port, got {value!r}")
    host, _, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not port.isdigit():
        raise RecordError(f"peer: bad port in {value!r}")
    return host, int(port)


def convert(obj: Any, sensor: str) -> SightingRecord:
    """One tool B result object as a validated record."""
    if not isinstance(obj, dict):
        raise RecordError("a result is not a JSON object")
    unknown = sorted(set(obj) - _KEYS)
    if unknown:
        raise RecordError(f"unknown key(s): {', '.join(unknown)}")
    missing = [k for k in _REQUIRED if obj.get(k) is None]
    if missing:
        raise RecordError(f"missing required key(s): {', '.join(missing)}")
    ts = obj["ts"]
    if not isinstance(ts, int | float) or isinstance(ts, bool) or not math.isfinite(ts):
        raise RecordError(f"ts: expected epoch seconds, got {ts!r}")
    try:
        when = datetime.fromtimestamp(round(ts, 3), UTC)
    except (OverflowError, OSError, ValueError):
        raise RecordError(f"ts: out of range: {ts!r}") from None
    network = _PROTOCOLS.get(obj["proto"]) if isinstance(obj["proto"], str) else None
    if network is None:
        raise RecordError(f"proto: expected one of {sorted(_PROTOCOLS)}, got {obj['proto']!r}")
    urn = obj["urn"]
    kind = next((k for p, k in _URNS.items() if isinstance(urn, str) and urn.startswith(p)),
                None)
    if kind is None:
        raise RecordError(f"urn: expected urn:ed2khash:, urn:sha1: or urn:btih:, got {urn!r}")
    level = obj["level"]
    evidence = _LEVELS.get(level) if isinstance(level, int) and not isinstance(level, bool) \
        else None
    if evidence is None:
        raise RecordError(f"level: expected 1 to 4, got {level!r}")
    ident = obj["id"]
    if not isinstance(ident, str) or len(ident) != 16:
        raise RecordError(f"id: expected 16 hex digits, got {ident!r}")
    host, port = _peer(obj["peer"])
    uid = obj.get("uid")
    return build_record({
        "record_id": ident, "observed_at": when, "network": network, "ip": host,
        "port": port, "content_kind": kind, "content_id": urn.split(":", 2)[2],
        "file_name": obj.get("name"), "file_size": obj.get("size"),
        "user_hash": uid if network in ("edonkey", "kad") else None,
        "guid": uid if network == "gnutella" else None,
        "ed2k_client_id": obj.get("cid"), "peer_id": obj.get("pid"),
        "client": obj.get("agent"), "nickname": obj.get("nick"),
        "sensor": sensor, "evidence": evidence,
    })


class ToolBJson:
    """Tool B: ``{"generator": ..., "sensor": ..., "results": [`` then one result a line."""

    NAME: ClassVar[str] = "tool-b-json"

    def sniff(self, path: Path, head: bytes) -> bool:
        """A first line that is the envelope's opening, naming a sensor."""
        env = _envelope(first_line(head))
        return env is not None and isinstance(env.get("sensor"), str) and bool(env["sensor"])

    def read(self, path: Path, sink: RecordSink) -> Iterator[tuple[int, SightingRecord]]:
        """Results line by line; the last line closes the array with ``]}``."""
        require_format(self, path)
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            env = _envelope(fh.readline().rstrip("\r\n"))
            if env is None:  # the file changed between sniff and read
                raise FormatMismatchError("not a tool-b-json file", path=path)
            sensor = env["sensor"]
            closed = False
            for no, line in enumerate(fh, 2):
                text = line.strip()
                if not text:
                    continue
                if closed:
                    sink.reject(f"line {no}", "text after the closing ]}", text)
                    continue
                if text == "]}":
                    closed = True
                    continue
                body = text[:-1] if text.endswith(",") else text
                if body.endswith("]}") and not text.endswith(","):
                    body, closed = body[:-2].rstrip(), True
                try:
                    record = convert(json.loads(body), sensor)
                except json.JSONDecodeError as exc:
                    sink.reject(f"line {no}", f"not valid JSON (truncated?): {exc}", text)
                    continue
                except RecordError as exc:
                    sink.reject(f"line {no}", str(exc), text)
                    continue
                yield no, record
