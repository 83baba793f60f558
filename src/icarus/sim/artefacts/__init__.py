"""Files P2P clients leave on a seized machine, written and read with their exact layouts.

- :mod:`.emule`: known.met, known2_64.met, preferences.dat, clients.met (writers and readers);
- :mod:`.aich`: eMule's AICH tree and ed2k part hashes;
- :mod:`.mettags`: eMule's tag records and a bounds-checked reader;
- :mod:`.torrents`: .torrent files, Transmission .resume and qBittorrent .fastresume;
- :mod:`.traces`: where the clients keep them, and one person's traces.
"""

from icarus.sim.artefacts.emule import (
    Credit,
    KnownFile,
    Preferences,
    parse_clients_met,
    parse_known2,
    parse_known_met,
    parse_preferences,
)
from icarus.sim.artefacts.torrents import ResumeRecord, parse_resume

__all__ = ["Credit", "KnownFile", "Preferences", "ResumeRecord", "parse_clients_met",
           "parse_known2", "parse_known_met", "parse_preferences", "parse_resume"]
