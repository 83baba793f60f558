"""The Icarus category model onto which every hash set's own scheme is mapped.

A hash set's numbers mean different things by jurisdiction (Project VIC US 0 is "non-pertinent",
legacy DHS 0 is "uncategorised"; UK CAID grades A/B/C). Each set names its scheme; the bank maps
its values onto this one model. See ``docs/categories.md``.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class SetKind(StrEnum):
    """What a hash set is for."""

    ALERT = "alert"
    """Known material: a match is a finding."""
    KNOWN = "known"
    """Known software (NSRL...): a match is "known", not "known good"."""


class Category(StrEnum):
    """What an entry is, in Icarus's own terms."""

    CSAM = "csam"
    """Child sexual abuse material: illegal."""
    EXPLOITATIVE = "exploitative"
    """Child exploitative, not CSAM, or age difficult."""
    CGI = "cgi"
    """Computer-generated or animated, child exploitative."""
    COMPARISON = "comparison"
    """Exemplar or comparison material."""
    NON_PERTINENT = "non-pertinent"
    """Reviewed and not pertinent."""
    UNCATEGORISED = "uncategorised"
    """Listed but not (yet) categorised."""
    KNOWN_SOFTWARE = "known-software"
    """A file of known software (NSRL and the like)."""

    @property
    def is_illicit(self) -> bool:
        """True for material whose possession is an offence in every participating country."""
        return self is Category.CSAM


class Severity(IntEnum):
    """How grave the material is; used by lead scoring. Higher is graver."""

    NONE = 0
    LOW = 1
    """UK grade C (other indecent images)."""
    MEDIUM = 2
    """CSAM of unknown grade, or UK grade B."""
    HIGH = 3
    """UK grade A, or INTERPOL Baseline."""


class Flag(StrEnum):
    """Flags an entry may carry besides its category."""

    BASELINE = "baseline"
    VICTIM_IDENTIFIED = "victim-identified"
    OFFENDER_IDENTIFIED = "offender-identified"
    DISTRIBUTED = "distributed"
    PRECATEGORISED = "precategorised"
    SUSPECTED = "suspected"
    FILE_AVAILABLE = "file-available"
    """INTERPOL ICSE: the file itself is available in ICSE."""
    P2P = "p2p"
    """Software of a file-sharing client (NSRL product such as eMule)."""
    ANONYMISER = "anonymiser"
    """Tor, VPN and proxy software."""
    ENCRYPTION = "encryption"
    """Container and disk encryption software."""
    ANTI_FORENSIC = "anti-forensic"
    """Wipers, cleaners, evidence eliminators."""
    NSRL_MALICIOUS = "nsrl-malicious"
    NSRL_SPECIAL = "nsrl-special"
