"""Magnet URIs: the digests they name (``xt``), and their name, size, trackers and peers.

Understood exact topics (``xt``, also numbered ``xt.1``, ``xt.2``...):

* ``urn:btih:`` BitTorrent v1 infohash, 40 hex or 32 base32 characters (BEP 9);
* ``urn:btmh:`` BitTorrent v2 infohash as a multihash, ``1220`` + 64 hex (BEP 53: 0x12 is
  SHA2-256, 0x20 its 32-byte length); a hybrid magnet carries both;
* ``urn:sha1:`` (base32 or hex), ``urn:tree:tiger:`` (also ``tree:tiger/:`` and
  ``tree:tiger/1024:``), ``urn:bitprint:<sha1>.<tth>`` (gives both), ``urn:ed2k:`` and
  ``urn:ed2khash:``, ``urn:aich:``, ``urn:md5:``.

Another URN is not an error: it is listed in :attr:`Magnet.warnings`. A magnet with no
understood ``xt`` is invalid, and so is an understood URN whose value is malformed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

from icarus.core.errors import InvalidIdentifierError, UsageError
from icarus.domain.digests import Digest
from icarus.identify.kinds import format_digest, parse_digest
from icarus.identify.kinds.base import base32_encode

_SHA256_MULTIHASH = bytes([0x12, 0x20])
_XT = re.compile(r"xt(?:\.[0-9]+)?")
_TTH_PREFIXES = ("tree:tiger:", "tree:tiger/:", "tree:tiger/1024:")
_SIMPLE = {
    "btih": "btih",
    "sha1": "sha1",
    "ed2k": "ed2k",
    "ed2khash": "ed2k",
    "aich": "aich",
    "md5": "md5",
}
# The order of xt parameters in a canonical magnet: BitTorrent first, as clients expect.
_CANONICAL_ORDER = ("btih", "btih-v2", "sha1", "tth", "ed2k", "aich", "md5")
_URN_OF = {
    "btih": "urn:btih:",
    "btih-v2": "urn:btmh:1220",
    "sha1": "urn:sha1:",
    "tth": "urn:tree:tiger:",
    "ed2k": "urn:ed2k:",
    "aich": "urn:aich:",
    "md5": "urn:md5:",
}


@dataclass(frozen=True, slots=True)
class Magnet:
    """A parsed magnet URI. ``raw`` is the text as given; ``warnings`` lists ignored URNs."""

    digests: tuple[Digest, ...]
    name: str | None
    size: int | None
    trackers: tuple[str, ...]
    peers: tuple[str, ...]
    raw: str
    warnings: tuple[str, ...] = ()

    def digest(self, kind: str) -> Digest | None:
        """The first digest of ``kind`` (e.g. ``"btih"``), or ``None``."""
        return next((d for d in self.digests if d.kind == kind), None)


def parse_magnet(text: str) -> Magnet:
    """Parse a magnet URI; every understood ``xt`` becomes a :class:`Digest`, in order.

    Values are percent-decoded (``+`` is a space, as clients write it). Digests are
    de-duplicated. Raises :class:`InvalidIdentifierError`, quoting the magnet, when it is not a
    magnet, has no understood ``xt``, or carries a malformed value (digest, ``xl``, peer).
    """
    raw = text.strip()
    if raw[:8].lower() != "magnet:?":
        raise _bad("does not start with 'magnet:?'", text)
    digests: list[Digest] = []
    warnings: list[str] = []
    name: str | None = None
    size: int | None = None
    trackers: list[str] = []
    peers: list[str] = []
    for param in raw[8:].split("&"):
        if not param:
            continue
        key, _, encoded = param.partition("=")
        key = key.lower()
        try:
            value = unquote_plus(encoded, errors="strict")
        except UnicodeDecodeError:
            raise _bad(f"parameter {key!r} is not percent-encoded UTF-8", text) from None
        if _XT.fullmatch(key):
            found = _topic(value, text)
            if found is None:
                warnings.append(f"ignored unsupported exact topic {value[:80]!r}")
            digests.extend(d for d in found or () if d not in digests)
        elif key in ("dn", "dn.1") and name is None:
            name = value
        elif key in ("xl", "xl.1") and size is None:
            if not re.fullmatch(r"[0-9]{1,20}", value):
                raise _bad(f"xl {value[:30]!r} is not a non-negative decimal size", text)
            size = int(value)
        elif re.fullmatch(r"tr(?:\.[0-9]+)?", key) and value and value not in trackers:
            trackers.append(value)
        elif key == "x.pe" and value not in peers:
            peers.append(_peer(value, text))
    if not digests:
        reason = "; ".join(warnings) if warnings else "there is no xt parameter"
        raise _bad(f"no usable exact topic (xt): {reason}", text)
    return Magnet(tuple(digests), name, size, tuple(trackers), tuple(peers), raw, tuple(warnings))


def format_magnet(
    digests: Iterable[Digest],
    *,
    name: str | None = None,
    size: int | None = None,
    trackers: Sequence[str] = (),
    peers: Sequence[str] = (),
) -> str:
    """A canonical magnet URI naming ``digests`` (BEP 9 / BEP 53 style).

    Canonical means: digests de-duplicated and in a fixed order (btih, btih-v2, sha1, tth, ed2k,
    aich, md5; then by value), each as its own plain ``xt=`` (as BEP 53 writes hybrids), values
    in each kind's canonical text, then ``dn``, ``xl``, ``tr`` and ``x.pe``, percent-encoded.
    ``parse_magnet`` reads back the same digests (in that order) and fields. Raises
    :class:`UsageError` for a kind no magnet URN names (sha256, pdq, photodna) or no digest.
    """
    unique = sorted(set(digests), key=_canonical_key)
    if not unique:
        raise UsageError("a magnet needs at least one digest")
    params = []
    for digest in unique:
        if digest.kind not in _URN_OF:
            raise UsageError(f"no magnet URN names a {digest.kind} digest")
        if digest.kind == "sha1":
            # urn:sha1 is conventionally base32 (Gnutella, Shareaza), though hex is read too.
            value = base32_encode(digest.value)
        elif digest.kind == "btih-v2":
            value = digest.hex
        else:
            value = format_digest(digest)
        params.append("xt=" + _URN_OF[digest.kind] + value)
    if name is not None:
        params.append("dn=" + quote(name, safe=""))
    if size is not None:
        if size < 0:
            raise UsageError(f"a magnet's size cannot be negative: {size}")
        params.append(f"xl={size}")
    params.extend("tr=" + quote(tracker, safe="") for tracker in dict.fromkeys(trackers))
    params.extend("x.pe=" + quote(peer, safe=":[]") for peer in dict.fromkeys(peers))
    return "magnet:?" + "&".join(params)


def _topic(urn: str, text: str) -> list[Digest] | None:
    """The digests named by one ``xt`` value; ``None`` if its URN is not understood."""
    lowered = urn.lower()
    if not lowered.startswith("urn:"):
        return None
    body = urn[4:]
    scheme, _, value = body.partition(":")
    scheme = scheme.lower()
    try:
        if scheme in _SIMPLE:
            return [parse_digest(_SIMPLE[scheme], value)]
        if scheme == "btmh":
            return [_btmh(value, text)]
        if scheme == "bitprint":
            sha1, dot, tth = value.partition(".")
            if not dot:
                raise _bad("urn:bitprint must be <sha1 base32>.<tth base32>", text)
            return [parse_digest("sha1", sha1), parse_digest("tth", tth)]
        for prefix in _TTH_PREFIXES:
            if body.lower().startswith(prefix):
                return [parse_digest("tth", body[len(prefix) :])]
    except _MagnetError:
        raise
    except InvalidIdentifierError as exc:
        raise _bad(f"bad {urn[:90]!r}: {exc}", text) from None
    return None


def _btmh(value: str, text: str) -> Digest:
    if not re.fullmatch(r"[0-9A-Fa-f]+", value) or len(value) % 2:
        raise _bad(f"urn:btmh value {value[:80]!r} is not a hex multihash", text)
    multihash = bytes.fromhex(value)
    if multihash[:2] != _SHA256_MULTIHASH or len(multihash) != 34:
        raise _bad(
            f"urn:btmh {value[:80]!r} is not a SHA2-256 multihash (1220 + 64 hex digits)", text
        )
    return Digest("btih-v2", multihash[2:])


def _peer(value: str, text: str) -> str:
    host, colon, port = value.rpartition(":")
    if not colon or not host or not re.fullmatch(r"[0-9]{1,5}", port) or not 0 < int(port) < 65536:
        raise _bad(f"peer (x.pe) {value[:60]!r} is not <host>:<port>", text)
    return value


def _canonical_key(digest: Digest) -> tuple[int, str, bytes]:
    known = digest.kind in _CANONICAL_ORDER
    return (_CANONICAL_ORDER.index(digest.kind) if known else 99, digest.kind, digest.value)


class _MagnetError(InvalidIdentifierError):
    """An error that already quotes the magnet."""


def _bad(problem: str, text: str, limit: int = 120) -> _MagnetError:
    cut = text[:limit] + ("…" if len(text) > limit else "")
    return _MagnetError(f"magnet: {problem}: {cut!r}")
