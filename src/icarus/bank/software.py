"""Flags for known software: which NSRL products a file-sharing investigation must notice.

The NSRL means "known", not "known good": it lists file-sharing clients, anonymisers, encryption
and wiping tools beside office suites. A file of such a product found on an exhibit is a lead
(a P2P client where sharing is alleged, a wiper before a search), so the NSRL readers attach the
flags below instead of letting the file be filtered out as harmless.

The table matches product names (and NSRL application types) with case-insensitive regular
expressions. Names that are also ordinary words or other products' names are anchored
(``^ares``, ``^eraser``, ``^tor\\b``...) to keep false flags rare; a flag is a prompt for review,
never a verdict. To add a product, add a pattern to the flag's list and a test case.
"""

from __future__ import annotations

import re
from functools import lru_cache

from icarus.domain.categories import Flag

_P2P = (
    # eDonkey / Kademlia
    r"\be-?mule\b", r"\bamule\b", r"\bedonkey", r"\bmldonkey\b", r"\blphant\b", r"\bovernet\b",
    # Gnutella and Gnutella2
    r"\bshareaza\b", r"\blimewire\b", r"\bfrostwire\b", r"\bbearshare\b", r"\bwireshare\b",
    r"\bgnucleus\b", r"\bphex\b", r"\bxolox\b", r"\bcabos\b", r"\bgtk-gnutella\b",
    r"\bgnutella\b", r"\bmorpheus\b(?! ?photo)", r"\bimesh\b",
    # FastTrack, Ares, WinMX, Direct Connect
    r"\bkazaa\b", r"^ares\b(?!\s*commander)", r"\bares galaxy\b", r"\bwinmx\b", r"dc\+\+",
    # BitTorrent: every client with "torrent" in its name (BitTorrent, µTorrent, qBittorrent...)
    r"torrent", r"\bvuze\b", r"\bazureus\b", r"^transmission\b", r"\bdeluge\b",
    r"\bbitcomet\b", r"\btixati\b", r"\bbitspirit\b", r"\bbitlord\b", r"\btribler\b",
    # friend-to-friend and other networks
    r"\bgigatribe\b", r"\bsoulseek", r"\bnicotine\b", r"\bretroshare\b", r"\bnapster\b",
    r"\bfiletopia\b",
    # NSRL application types
    r"\bpeer[- ]to[- ]peer\b", r"\bp2p\b", r"\bfile[- ]sharing\b",
)

_ANONYMISER = (
    r"^tor\b", r"\btor browser\b", r"\btor expert bundle\b", r"\bvidalia\b", r"\borbot\b",
    r"\bi2p\b", r"\bfreenet\b", r"\bhyphanet\b", r"\bpsiphon\b", r"\bultrasurf\b",
    r"\bjondo\b", r"\bjondonym\b", r"^tails\b", r"\bwhonix\b",
    r"vpn\b", r"\bwireguard\b", r"\bmullvad\b", r"\bhotspot shield\b",
    r"\bcyberghost\b", r"\bprivate internet access\b", r"\btunnelbear\b", r"\bwindscribe\b",
    r"\bproxifier\b",
)

_ENCRYPTION = (
    r"\btruecrypt\b", r"\bveracrypt\b", r"\bciphershed\b", r"\bdiskcryptor\b", r"\baxcrypt\b",
    r"\bbestcrypt\b", r"\bcryptomator\b", r"\bboxcryptor\b", r"\bfreeotfe\b", r"\bbitlocker\b",
    r"\bpgp\b", r"\bgpg4win\b", r"\bgnupg\b", r"\bsteganos\b", r"\bfolder lock\b",
    r"\bkruptos\b", r"\bencfs\b", r"\bcryptsetup\b", r"\bsafehouse\b",
)

_ANTI_FORENSIC = (
    r"\bccleaner\b", r"^eraser\b", r"\bbcwipe\b", r"\bdban\b", r"\bdarik'?s boot and nuke\b",
    r"\bevidence eliminator\b", r"\bprivazer\b", r"\bbleachbit\b", r"\bsdelete\b",
    r"\bwipefile\b", r"\bwindow washer\b", r"\btracks eraser\b", r"\bprivacy eraser\b",
    r"\beast-tec eraser\b", r"\bcyberscrub\b", r"\bkilldisk\b", r"\bfile shredder\b",
    r"\bsecure eraser\b", r"\bhardwipe\b", r"\banti-recovery\b", r"\btimestomp\b",
)

PATTERNS: dict[Flag, tuple[str, ...]] = {
    Flag.P2P: _P2P,
    Flag.ANONYMISER: _ANONYMISER,
    Flag.ENCRYPTION: _ENCRYPTION,
    Flag.ANTI_FORENSIC: _ANTI_FORENSIC,
}
"""Flag -> regular expressions (searched, case-insensitive) over product names and types."""

_COMPILED = {flag: re.compile("|".join(pats), re.IGNORECASE) for flag, pats in PATTERNS.items()}


@lru_cache(maxsize=65536)
def flags_for_product(name: str | None, application_type: str | None = None) -> frozenset[str]:
    """The software flags (``p2p``, ``anonymiser``, ``encryption``, ``anti-forensic``) of a
    product, from its name and, when given, its NSRL application type. Empty if none apply."""
    texts = [t.strip() for t in (name, application_type) if t and t.strip()]
    return frozenset(
        flag.value for flag, rx in _COMPILED.items() if any(rx.search(t) for t in texts)
    )
