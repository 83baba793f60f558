"""Known software of the synthetic world: products, and the bytes of their program files.

The NSRL-style set (:func:`icarus.sim.hashsets.write_nsrl`) lists these files, and the world's
exhibits may hold them, so a search finds "known software" there, including file-sharing
clients that Icarus must flag (eMule, Shareaza, µTorrent...). Product names are real; the
files are not the vendors' files but stand-ins: an ``MZ`` header and pseudo-random bytes, the
same in every world (software does not change with the seed).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class Product:
    """One NSRL product: code, name, version, maker code, application type and its files."""

    code: int
    name: str
    version: str
    maker: str
    app_type: str
    files: tuple[str, ...]
    flagged: bool = False
    """A product Icarus flags (P2P, anonymiser, encryption, anti-forensic)."""

    @property
    def label(self) -> str:
        """``name version``, e.g. ``eMule 0.50a``: how exhibits and installs name it."""
        return f"{self.name} {self.version}"

    @property
    def stem(self) -> str:
        """A lower-case word of the name, for the file names of filler rows."""
        return self.name.split()[0].lower().replace("+", "p")


_LIST = (
    Product(7001, "eMule", "0.50a", "7101", "Peer to Peer", ("emule.exe", "unrar.dll",
            "emule.chm"), True),
    Product(7002, "Shareaza", "2.7.10.2", "7102", "Peer to Peer", ("Shareaza.exe",
            "Shareaza.chm", "zlibwapi.dll"), True),
    Product(7003, "uTorrent", "3.5.5", "7103", "Peer to Peer", ("uTorrent.exe",), True),
    Product(7004, "qBittorrent", "4.5.2", "7104", "Peer to Peer", ("qbittorrent.exe",
            "qt_en.qm"), True),
    Product(7005, "FrostWire", "6.9.8", "7105", "Peer to Peer", ("FrostWire.exe",
            "frostwire.jar"), True),
    Product(7006, "Vuze", "5.7.6", "7106", "Peer to Peer", ("Azureus.exe", "Azureus2.jar"),
            True),
    Product(7007, "LimeWire", "5.5.16", "7107", "Peer to Peer", ("LimeWire.exe",
            "LimeWire.jar"), True),
    Product(7008, "Tor Browser", "12.0.1", "7108", "Internet", ("tor.exe", "firefox.exe"), True),
    Product(7009, "VeraCrypt", "1.25.9", "7109", "Encryption", ("VeraCrypt.exe",
            "veracrypt.sys"), True),
    Product(7010, "CCleaner", "6.07", "7110", "Utility", ("CCleaner.exe",), True),
    Product(7011, "Mozilla Firefox", "102.6.0", "7111", "Internet", ("firefox.exe", "xul.dll",
            "mozglue.dll")),
    Product(7012, "LibreOffice", "7.4.3", "7112", "Office Suite", ("soffice.exe",
            "swriter.exe", "scalc.exe")),
    Product(7013, "VLC media player", "3.0.18", "7113", "Multimedia", ("vlc.exe",
            "libvlc.dll", "libvlccore.dll")),
    Product(7014, "7-Zip", "22.01", "7114", "Compression", ("7z.exe", "7z.dll", "7zFM.exe")),
    Product(7015, "Notepad++", "8.4.8", "7115", "Text Editor", ("notepad++.exe",
            "SciLexer.dll")),
    Product(7016, "GIMP", "2.10.32", "7116", "Graphics", ("gimp-2.10.exe", "libgimp.dll")),
)

PRODUCTS: dict[str, Product] = {p.label: p for p in _LIST}
"""Every product, by its label (``eMule 0.50a``)."""


class SoftwareFile(NamedTuple):
    """A program file: its name, bytes and product label (a key of :data:`PRODUCTS`)."""

    name: str
    data: bytes
    product: str

    @property
    def md5(self) -> bytes:
        """MD5 of the bytes."""
        return hashlib.md5(self.data, usedforsecurity=False).digest()

    @property
    def sha1(self) -> bytes:
        """SHA-1 of the bytes."""
        return hashlib.sha1(self.data, usedforsecurity=False).digest()

    @property
    def crc32(self) -> int:
        """CRC-32 of the bytes (the NSRL's third column)."""
        return zlib.crc32(self.data)


_SOFTWARE_SEED = 0x4E53524C  # fixed: the same programs in every world


@lru_cache(maxsize=1)
def _files() -> tuple[SoftwareFile, ...]:
    out: list[SoftwareFile] = []
    for product in _LIST:
        for index, name in enumerate(product.files):
            rng = np.random.default_rng([_SOFTWARE_SEED, product.code, index])
            size = int(rng.integers(8 * 1024, 96 * 1024))
            # A DOS header ("MZ") and e_lfanew, like any Windows program; the rest is filler.
            head = b"MZ\x90\x00" + bytes(56) + (128).to_bytes(4, "little")
            out.append(SoftwareFile(name, head + rng.bytes(size - len(head)), product.label))
    return tuple(out)


def software_files() -> list[SoftwareFile]:
    """Every program file of every product, in product order: (name, bytes, product label).

    Always the same files, whatever the world's seed; the exhibits may install them (e.g.
    ``Program Files/eMule/emule.exe``) and the NSRL set lists them.
    """
    return list(_files())
