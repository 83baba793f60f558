"""Software flags of NSRL products (icarus.bank.software): P2P and the like are flagged."""

from __future__ import annotations

import pytest

from icarus.bank.software import flags_for_product


@pytest.mark.parametrize(("name", "flag"), [
    ("eMule", "p2p"), ("aMule", "p2p"), ("Shareaza", "p2p"), ("LimeWire", "p2p"),
    ("FrostWire", "p2p"), ("BearShare", "p2p"), ("KaZaA Lite", "p2p"), ("Ares Galaxy", "p2p"),
    ("Ares", "p2p"), ("DC++", "p2p"), ("ApexDC++", "p2p"), ("BitTorrent", "p2p"),
    ("\u00b5Torrent", "p2p"), ("uTorrent", "p2p"), ("qBittorrent", "p2p"), ("Vuze", "p2p"),
    ("Azureus", "p2p"), ("Transmission", "p2p"), ("Deluge", "p2p"), ("BitComet", "p2p"),
    ("Tixati", "p2p"), ("GigaTribe", "p2p"), ("SoulseekQt", "p2p"), ("RetroShare", "p2p"),
    ("WinMX", "p2p"), ("Gnucleus", "p2p"),
    ("Tor Browser", "anonymiser"), ("Tor", "anonymiser"), ("I2P", "anonymiser"),
    ("Freenet", "anonymiser"), ("Psiphon", "anonymiser"), ("OpenVPN", "anonymiser"),
    ("NordVPN", "anonymiser"),
    ("TrueCrypt", "encryption"), ("VeraCrypt", "encryption"), ("DiskCryptor", "encryption"),
    ("AxCrypt", "encryption"), ("BitLocker To Go Reader", "encryption"),
    ("CCleaner", "anti-forensic"), ("Eraser", "anti-forensic"), ("BCWipe", "anti-forensic"),
    ("DBAN", "anti-forensic"), ("Evidence Eliminator", "anti-forensic"),
    ("PrivaZer", "anti-forensic"), ("BleachBit", "anti-forensic"), ("SDelete", "anti-forensic"),
    ("WipeFile", "anti-forensic"),
])
def test_listed_products_are_flagged(name: str, flag: str) -> None:
    assert flag in flags_for_product(name)
    assert flag in flags_for_product(name.upper())


@pytest.mark.parametrize("name", [
    "Microsoft Office", "Adobe Reader", "Photo Background Eraser", "ARES Commander",
    "Storage Transmission Analyzer", "Text Editor", "Monitor Tool", None, "",
])
def test_ordinary_products_are_not_flagged(name: str | None) -> None:
    assert flags_for_product(name) == frozenset()


def test_application_type_counts_too() -> None:
    assert flags_for_product("Some Client", "Peer-to-Peer") == frozenset({"p2p"})
