"""Hash-set formats are plugins: one module each, registered here, in one registry.

To add a format, write a module with a class implementing
:class:`~icarus.bank.formats.base.HashSetFormat` and an instance ``FORMAT``, and list the module
in ``BUILTIN``. The registry refuses a name registered twice; the contract test
(``tests/bank/formats/test_contract.py``) runs over every registered format.
"""

from __future__ import annotations

from pathlib import Path

from icarus.bank.formats import (
    hashdeep,
    hashlist,
    icse,
    md5sum,
    nsrl_rds2,
    nsrl_rds3,
    vics,
)
from icarus.bank.formats.base import HEAD_SIZE, HashSetFormat, read_head
from icarus.core.errors import FormatMismatchError
from icarus.core.plugins import Registry

BUILTIN = (vics, icse, nsrl_rds2, nsrl_rds3, md5sum, hashdeep, hashlist)

FORMATS: Registry[HashSetFormat] = Registry("hash-set format")
for _module in BUILTIN:
    FORMATS.register(_module.FORMAT)


def get_format(name: str) -> HashSetFormat:
    """The registered format called ``name``; a :class:`UsageError` lists the valid names."""
    return FORMATS.get(name)


def detect_format(path: Path) -> HashSetFormat:
    """The one registered format that claims ``path``, by sniffing its first 64 KiB.

    Raises :class:`FormatMismatchError`, naming the file and the formats tried, when no format
    or more than one claims it (then the importer must name the format).
    """
    head = read_head(path, HEAD_SIZE)
    claims = [fmt for fmt in FORMATS if fmt.sniff(path, head)]
    if len(claims) == 1:
        return claims[0]
    if not claims:
        raise FormatMismatchError(
            f"no hash-set format recognises this file (tried: {', '.join(FORMATS.names())})",
            path=path,
        )
    raise FormatMismatchError(
        f"several hash-set formats claim this file ({', '.join(f.NAME for f in claims)}); "
        "name the format",
        path=path,
    )


__all__ = ["BUILTIN", "FORMATS", "HashSetFormat", "detect_format", "get_format"]
