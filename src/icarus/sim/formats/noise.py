"""The faults of real sensor files, injected deterministically from a random generator.

Four kinds of trouble, each at a configured rate:

- **exact duplicates**: a record written twice (the copy a few lines later);
- **out-of-order runs**: a block of lines swapped with the block after it;
- **malformed lines** (:data:`MALFORMED_KINDS`): ``broken`` (cut JSON, a short CSV row, a JSON
  value of the wrong type), ``missing-field`` (a required field absent or empty), ``bad-ip``,
  ``bad-hash`` (a content id that no hash-kind parser accepts);
- **a truncated last line**: the file ends in the middle of a record (:func:`cut`).

Malformed and truncated lines are not sightings: the ground truth leaves them out. A duplicate is
never made of a malformed record, so every record is either well-formed in all its copies or
malformed in its only one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from icarus.core.errors import ConfigError

MALFORMED_KINDS = ("broken", "missing-field", "bad-ip", "bad-hash")
"""The kinds of malformed line, in the order of :attr:`NoisePlan.malformed` codes."""


@dataclass(frozen=True)
class NoiseConfig:
    """Rates of the faults; the defaults are assumptions (no published measurement exists)."""

    duplicate_rate: float = 0.01
    """Share of records written a second time, identically."""
    duplicate_gap: int = 50
    """The copy lands 0 to this many lines after the original."""
    out_of_order_rate: float = 0.0005
    """Out-of-order runs per line (one run in 2,000 lines)."""
    run_length: tuple[int, int] = (3, 40)
    """Lines per swapped block, inclusive bounds."""
    malformed_rate: float = 0.001
    """Share of records written malformed (the kind drawn uniformly from MALFORMED_KINDS)."""

    def __post_init__(self) -> None:
        for name in ("duplicate_rate", "out_of_order_rate", "malformed_rate"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"noise {name} must be in [0, 1), got {value!r}")
        low, high = self.run_length
        if not 1 <= low <= high or self.duplicate_gap < 0:
            raise ConfigError(f"noise run_length {self.run_length!r} / duplicate_gap "
                              f"{self.duplicate_gap!r} are invalid")


@dataclass(frozen=True)
class NoisePlan:
    """Which record each output line carries, and how it is spoiled."""

    records: npt.NDArray[np.int64]
    """Per output line: the index of its record in the batch."""
    malformed: npt.NDArray[np.int8]
    """Per output line: index into MALFORMED_KINDS, or -1 for a well-formed line."""
    duplicates: int
    runs: int


def plan(n: int, cfg: NoiseConfig, rng: np.random.Generator) -> NoisePlan:
    """The noise for a batch of ``n`` records in output order (a pure function of the draws)."""
    spoiled = rng.random(n) < cfg.malformed_rate
    kinds = np.where(spoiled, rng.integers(0, len(MALFORMED_KINDS), n), -1).astype(np.int8)
    copied = np.flatnonzero((rng.random(n) < cfg.duplicate_rate) & ~spoiled)
    gaps = rng.integers(0, cfg.duplicate_gap + 1, len(copied))
    # Originals sort at 2i, a copy of record i just after line i + gap: one stable sort.
    keys = np.concatenate([2 * np.arange(n), 2 * np.minimum(copied + gaps, n - 1) + 1])
    records = np.concatenate([np.arange(n), copied])[np.argsort(keys, kind="stable")]
    runs = _swap_runs(records, cfg, rng)
    return NoisePlan(records.astype(np.int64), kinds[records], len(copied), runs)


def _swap_runs(order: npt.NDArray[np.int64], cfg: NoiseConfig,
               rng: np.random.Generator) -> int:
    """Swap blocks of lines with the block after them, in place; returns how many."""
    total = len(order)
    low, high = cfg.run_length
    if total < 2 * low:
        return 0
    count = int(rng.binomial(total, cfg.out_of_order_rate))
    lengths = np.minimum(rng.integers(low, high + 1, count), total // 2)
    starts = (rng.random(count) * (total - 2 * lengths + 1)).astype(np.int64)
    for start, length in zip(starts.tolist(), lengths.tolist(), strict=True):
        block = order[start : start + 2 * length].copy()
        order[start : start + length] = block[length:]
        order[start + length : start + 2 * length] = block[:length]
    return count


def apply(lines: pa.Array, noise: NoisePlan, corrupt: Callable[[str, str, np.random.Generator],
          str], rng: np.random.Generator) -> pa.Array:
    """The output lines: ``lines`` (one per record) reordered and copied as planned, with the
    planned lines spoiled by the style's ``corrupt``."""
    out = lines.take(pa.array(noise.records))
    bad = np.flatnonzero(noise.malformed >= 0)
    if len(bad) == 0:
        return out
    texts = out.take(pa.array(bad)).to_pylist()
    spoilt = [corrupt(line, MALFORMED_KINDS[int(noise.malformed[i])], rng)
              for line, i in zip(texts, bad.tolist(), strict=True)]
    mask = np.zeros(len(out), dtype=bool)
    mask[bad] = True
    return pc.replace_with_mask(out, pa.array(mask), pa.array(spoilt, pa.string()))


def cut(line: str, rng: np.random.Generator) -> str:
    """A proper prefix of ``line``: at least one character kept and at least one lost."""
    if len(line) < 2:
        return ""
    return line[: int(rng.integers(1, len(line)))]


def bad_ip(rng: np.random.Generator) -> str:
    """An address text that is neither IPv4 nor IPv6."""
    a, b, c, d = (int(x) for x in rng.integers(0, 256, 4))
    choices = (f"{256 + a}.{b}.{c}.{d}", f"{a}.{b}.{c}", f"{a}.{b}.{c}.{d}.{a}",
               f"{a}.{b}.{c}.{d}:{b}", "unknown", "")
    return choices[int(rng.integers(len(choices)))]


def bad_hash(value: str, rng: np.random.Generator) -> str:
    """``value`` (a hex or base32 digest) made unparseable: a character replaced by one outside
    both alphabets, one to three characters lost, or one character too many."""
    variant = int(rng.integers(3))
    if variant == 0:
        i = int(rng.integers(len(value)))
        return value[:i] + "!#-?"[int(rng.integers(4))] + value[i + 1 :]
    if variant == 1:
        return value[: len(value) - int(rng.integers(1, 4))]
    return value + "0"
