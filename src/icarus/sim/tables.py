"""The synthetic world's tables: the contract between the generator's stages.

Every stage of ``icarus sim world`` produces or consumes these Arrow tables; the ground truth
written to ``<out>/truth/`` is these tables as Parquet (see ``docs/sim/world.md``). Times are UTC
microsecond timestamps; ids are dense integers from 0; digests are raw bytes.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")

COUNTRIES = pa.schema([
    pa.field("country", pa.string(), nullable=False),  # ISO 3166-1 alpha-2
    pa.field("name", pa.string(), nullable=False),
    pa.field("weight", pa.float64(), nullable=False),  # share of the world's people
    pa.field("in_operation", pa.bool_(), nullable=False),
])

PERSONS = pa.schema([
    pa.field("person_id", pa.int32(), nullable=False),
    pa.field("country", pa.string(), nullable=False),
    pa.field("asn", pa.int64(), nullable=False),  # the home ISP's autonomous system
    pa.field("isp", pa.string(), nullable=False),
    pa.field("role", pa.string(), nullable=False),  # distributor | downloader | benign
    pa.field("uses_anonymiser", pa.bool_(), nullable=False),
    pa.field("network_id", pa.int32(), nullable=True),  # hidden sharing network, if any
    pa.field("nat_group", pa.int32(), nullable=True),  # people behind one address share it
    pa.field("should_identify", pa.bool_(), nullable=False),  # shares known material
    pa.field("in_earlier_intel", pa.bool_(), nullable=False),  # named by earlier operations
    pa.field("known_files", pa.int32(), nullable=False),  # distinct known items shared
])

INSTALLS = pa.schema([  # one client installation of a person on one network
    pa.field("install_id", pa.int32(), nullable=False),
    pa.field("person_id", pa.int32(), nullable=False),
    pa.field("network", pa.string(), nullable=False),  # edonkey | gnutella | bittorrent
    pa.field("client", pa.string(), nullable=False),  # e.g. "eMule 0.50a"
    pa.field("user_hash", pa.binary(16), nullable=True),  # eDonkey/Kad
    pa.field("guid", pa.binary(16), nullable=True),  # Gnutella
    pa.field("peer_id_prefix", pa.string(), nullable=True),  # BitTorrent, e.g. "-qB4520-"
    pa.field("low_id", pa.bool_(), nullable=False),  # firewalled eDonkey client
    pa.field("nickname", pa.string(), nullable=True),
])

LEASES = pa.schema([  # which address a person used when
    pa.field("person_id", pa.int32(), nullable=False),
    pa.field("ip", pa.string(), nullable=False),
    pa.field("asn", pa.int64(), nullable=False),
    pa.field("country", pa.string(), nullable=False),  # where the address resolves
    pa.field("kind", pa.string(), nullable=False),  # home | vpn | tor
    pa.field("start", TS, nullable=False),
    pa.field("end", TS, nullable=False),
])

CONTENT = pa.schema([
    pa.field("content_id", pa.int32(), nullable=False),
    pa.field("status", pa.string(), nullable=False),  # known | unknown-illicit | benign
    pa.field("category", pa.string(), nullable=False),  # Icarus category (domain.categories)
    pa.field("severity", pa.int8(), nullable=False),
    pa.field("vics_category", pa.int8(), nullable=True),  # as the VICS file gives it
    pa.field("media", pa.string(), nullable=False),  # image | video | archive | other
    pa.field("name", pa.string(), nullable=False),
    pa.field("size", pa.int64(), nullable=False),
    pa.field("md5", pa.binary(16), nullable=False),
    pa.field("sha1", pa.binary(20), nullable=False),
    pa.field("sha256", pa.binary(32), nullable=False),
    pa.field("ed2k", pa.binary(16), nullable=False),
    pa.field("btih", pa.binary(20), nullable=True),  # the torrent carrying it, if any
    pa.field("seed", pa.int64(), nullable=False),  # regenerates the bytes (sim.content)
    pa.field("pdq", pa.binary(32), nullable=True),
    pa.field("network_id", pa.int32(), nullable=True),  # core collection of this network
])

SHARES = pa.schema([  # what each person shares, and over which days
    pa.field("person_id", pa.int32(), nullable=False),
    pa.field("content_id", pa.int32(), nullable=False),
    pa.field("first", TS, nullable=False),
    pa.field("last", TS, nullable=False),
])

NETWORKS = pa.schema([
    pa.field("network_id", pa.int32(), nullable=False),
    pa.field("name", pa.string(), nullable=False),
    pa.field("known_earlier", pa.bool_(), nullable=False),  # named by earlier intelligence
    pa.field("core_content", pa.list_(pa.int32()), nullable=False),
])

SESSIONS = pa.schema([  # when an installation was online, from where (sensors observe these)
    pa.field("install_id", pa.int32(), nullable=False),
    pa.field("person_id", pa.int32(), nullable=False),
    pa.field("start", TS, nullable=False),
    pa.field("end", TS, nullable=False),
    pa.field("ip", pa.string(), nullable=False),  # the lease's address during the session
    pa.field("port", pa.int32(), nullable=False),
    pa.field("peer_id", pa.binary(20), nullable=True),  # BitTorrent: new at each client start
    pa.field("ed2k_client_id", pa.int64(), nullable=True),  # eDonkey: HighID (the IP) or LowID
])

SIGHTINGS_TRUTH = pa.schema([  # which person and installation each emitted record came from
    pa.field("sensor", pa.string(), nullable=False),
    pa.field("record_id", pa.string(), nullable=False),
    pa.field("person_id", pa.int32(), nullable=False),
    pa.field("install_id", pa.int32(), nullable=False),
    pa.field("content_id", pa.int32(), nullable=False),
])

EXHIBITS = pa.schema([
    pa.field("exhibit_id", pa.string(), nullable=False),
    pa.field("person_id", pa.int32(), nullable=False),
    pa.field("kind", pa.string(), nullable=False),  # folder | raw
    pa.field("filesystem", pa.string(), nullable=True),  # fat32 | ntfs | exfat | ext4
    pa.field("path", pa.string(), nullable=False),  # relative to the world's folder
    pa.field("sha256", pa.string(), nullable=False),  # of the image file (folders: "")
])

EXHIBIT_ITEMS = pa.schema([  # which catalogue items each exhibit holds, and how
    pa.field("exhibit_id", pa.string(), nullable=False),
    pa.field("content_id", pa.int32(), nullable=False),
    pa.field("path", pa.string(), nullable=False),  # in the exhibit; "a.zip!b.zip!c" in archives
    pa.field("state", pa.string(), nullable=False),  # live | deleted | variant | archived
    pa.field("variant", pa.int32(), nullable=True),  # k of variant_of(row, k)
])

TABLES: dict[str, pa.Schema] = {
    "countries": COUNTRIES, "persons": PERSONS, "installs": INSTALLS, "leases": LEASES,
    "content": CONTENT, "shares": SHARES, "networks": NETWORKS, "sessions": SESSIONS,
    "sightings_truth": SIGHTINGS_TRUTH, "exhibits": EXHIBITS, "exhibit_items": EXHIBIT_ITEMS,
}
"""Every ground-truth table, by its file name (``truth/<name>.parquet``)."""
