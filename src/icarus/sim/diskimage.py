"""Raw disk images of seized media, built without mounting anything.

:func:`build_image` makes a FAT32, NTFS, exFAT or ext4 file system in a plain file, puts the
given files in it, then writes and deletes the ``deleted`` files, so that their directory
entries remain marked deleted and their bytes stay in unallocated space, as a forensic tool
expects to find them. Nothing is mounted (no kernel or FUSE mount, no privileges):

- **fat32**: ``mkfs.vfat --invariant`` (dosfstools), files copied with ``mcopy -s -m`` and
  deleted with ``mdel`` (mtools): the entry's first byte becomes 0xE5 and its clusters are
  freed (Sleuth Kit shows a deleted 8.3 name with ``_`` for its lost first character).
- **ext4**: ``mkfs.ext4 -d <folder>`` (e2fsprogs) builds from a staging folder, ``debugfs -w``
  ``rm`` deletes: the name is unlinked, the inode gets a deletion time, its blocks are freed.
- **ntfs**: ``mkntfs -T`` (ntfs-3g), then the libntfs-3g library, which opens the image file
  in user space as ``ntfscp`` does, creates folders and files and deletes with
  ``ntfs_delete`` (the MFT record is freed, the index entry removed): see
  :mod:`icarus.sim.diskimage_ntfs`.
- **exfat**: ``mkfs.exfat`` (exfatprogs), then a small writer of exFAT directory entries
  (:mod:`icarus.sim.diskimage_exfat`): Debian has no tool that copies into an unmounted exFAT.

Every image is byte-identical for the same inputs: fixed volume ids, labels and UUIDs, times
taken from the inputs (``TZ=UTC`` for FAT's local times, ``E2FSPROGS_FAKE_TIME`` for ext4),
and for NTFS a pass that replaces the times libntfs-3g takes from the clock (see there).
"""

from __future__ import annotations

import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Literal

from icarus.core.errors import InternalError, UsageError
from icarus.sim import diskimage_exfat
from icarus.sim.diskimage_tools import TIMEOUT, run_tool

__all__ = ["FILESYSTEMS", "Filesystem", "build_image"]

Filesystem = Literal["fat32", "ntfs", "exfat", "ext4"]
FILESYSTEMS: tuple[Filesystem, ...] = ("fat32", "ntfs", "exfat", "ext4")
MIN_SIZE_MIB: dict[str, int] = {"fat32": 33, "ntfs": 2, "exfat": 2, "ext4": 2}
"""FAT32 needs 65,525 clusters: 33 MiB with 512-byte clusters."""
LABEL = "EXHIBIT"
VOLUME_ID = 0x1CA2_0511
EXT4_UUID = "1ca20511-0000-4000-8000-000000000001"
EXT4_HASH_SEED = "1ca20511-0000-4000-8000-000000000002"

FileSpec = tuple[str, bytes, int]
DeletedSpec = tuple[str, bytes]


def build_image(fs: Filesystem, size_mib: int, files: Sequence[FileSpec],
                deleted: Sequence[DeletedSpec], out: Path, *, epoch: int | None = None) -> None:
    """Write a raw image of ``size_mib`` MiB at ``out`` holding ``files`` and ``deleted`` ones.

    ``files`` are (path inside the volume with ``/``, bytes, mtime as UTC seconds); folders are
    created as needed and get the time ``epoch`` (default: the latest file mtime), as do the
    deleted files. Paths must be relative, without ``.``/``..``, and distinct ignoring case
    (FAT and exFAT do not tell case apart). Raises UsageError for bad arguments and
    InternalError naming the Debian package when a tool is missing or fails.
    """
    if fs not in FILESYSTEMS:
        raise UsageError(f"unknown file system {fs!r}: choose one of {', '.join(FILESYSTEMS)}")
    if size_mib < MIN_SIZE_MIB[fs]:
        raise UsageError(f"a {fs} image needs at least {MIN_SIZE_MIB[fs]} MiB, not {size_mib}")
    _check_paths([p for p, _, _ in files] + [p for p, _ in deleted])
    if epoch is None:
        epoch = max((m for _, _, m in files), default=1_300_000_000)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    with out.open("wb") as handle:
        handle.truncate(size_mib << 20)
    with tempfile.TemporaryDirectory(prefix="icarus-image-") as tmp:
        stage = Path(tmp) / "root"
        _stage(stage, files, deleted, epoch)
        try:
            if fs == "fat32":
                _fat32(out, stage, deleted)
            elif fs == "ext4":
                _ext4(out, stage, deleted, epoch)
            elif fs == "ntfs":
                _ntfs(out, stage, files, deleted, epoch, Path(tmp))
            else:
                run_tool(["mkfs.exfat", "-L", LABEL, "-c", "4096", str(out)], "exfatprogs")
                diskimage_exfat.populate(out, files, deleted, epoch, VOLUME_ID)
        except BaseException:
            out.unlink(missing_ok=True)
            raise


def _check_paths(paths: Sequence[str]) -> None:
    seen: set[str] = set()
    for path in paths:
        parts = PurePosixPath(path).parts
        if not parts or path.startswith("/") or any(p in (".", "..") for p in parts):
            raise UsageError(f"image path {path!r} must be relative, without '.' or '..'")
        if any(c in path for c in '\\:*?"<>|') or any(ord(c) < 32 for c in path):
            raise UsageError(f"image path {path!r} has a character FAT and NTFS refuse")
        if path.casefold() in seen:
            raise UsageError(f"image path {path!r} is given twice (ignoring case)")
        seen.add(path.casefold())


def _stage(stage: Path, files: Sequence[FileSpec], deleted: Sequence[DeletedSpec],
           epoch: int) -> None:
    """Lay the files out in a folder with their times; folders get ``epoch``."""
    stage.mkdir()
    for path, data, mtime in [*files, *((p, d, epoch) for p, d in deleted)]:
        target = stage / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        os.utime(target, (mtime, mtime))
    for folder in sorted((p for p in stage.rglob("*") if p.is_dir()), reverse=True):
        os.utime(folder, (epoch, epoch))
    os.utime(stage, (epoch, epoch))


def _fat32(out: Path, stage: Path, deleted: Sequence[DeletedSpec]) -> None:
    env = {"TZ": "UTC", "MTOOLS_SKIP_CHECK": "1"}
    run_tool(["mkfs.vfat", "-F", "32", "-S", "512", "-s", "1", "--invariant",
              "-i", f"{VOLUME_ID:08x}", "-n", LABEL, str(out)], "dosfstools")
    tops = sorted(str(p) for p in stage.iterdir())
    if tops:
        # -s recurses, -m keeps each file's and folder's mtime, -Q stops at the first error.
        run_tool(["mcopy", "-s", "-m", "-Q", "-i", str(out), *tops, "::/"], "mtools", env=env)
    if deleted:
        run_tool(["mdel", "-i", str(out), *(f"::/{p}" for p, _ in deleted)], "mtools", env=env)


def _ext4(out: Path, stage: Path, deleted: Sequence[DeletedSpec], epoch: int) -> None:
    env = {"E2FSPROGS_FAKE_TIME": str(epoch), "TZ": "UTC"}
    run_tool(["mkfs.ext4", "-q", "-F", "-b", "1024", "-L", LABEL, "-U", EXT4_UUID,
              "-E", f"hash_seed={EXT4_HASH_SEED},root_owner=0:0", "-d", str(stage), str(out)],
             "e2fsprogs", env=env)
    # mkfs.ext4 -d copies each inode's change time from the staging folder, where it is the
    # clock's: set it to the file's mtime (folders: epoch), then delete.
    commands = [f'sif "/{p.relative_to(stage).as_posix()}" ctime @{int(p.lstat().st_mtime)}\n'
                for p in sorted(stage.rglob("*"))]
    commands += [f"sif / ctime @{epoch}\n", f"sif /lost+found ctime @{epoch}\n"]
    commands += [f'rm "/{p}"\n' for p, _ in deleted]
    script = stage.parent / "debugfs.cmd"
    script.write_text("".join(commands), encoding="utf-8")
    run_tool(["debugfs", "-w", "-f", str(script), str(out)], "e2fsprogs", env=env,
             quiet_stderr=r"debugfs \d")


def _ntfs(out: Path, stage: Path, files: Sequence[FileSpec], deleted: Sequence[DeletedSpec],
          epoch: int, tmp: Path) -> None:
    run_tool(["mkntfs", "-q", "-F", "-f", "-T", "-c", "4096", "-L", LABEL, str(out)], "ntfs-3g")
    manifest = tmp / "ntfs.json"
    _ntfs_manifest(manifest, stage, files, deleted, epoch)
    # libntfs-3g runs in a child process: a crash or hang there cannot take the world down.
    try:
        done = subprocess.run(
            [sys.executable, "-m", "icarus.sim.diskimage_ntfs", str(out), str(manifest)],
            capture_output=True, text=True, timeout=TIMEOUT, check=False,
            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise InternalError(f"{out}: writing NTFS took more than {TIMEOUT} s") from None
    if done.returncode != 0:
        raise InternalError(f"{out}: writing NTFS failed: {done.stderr.strip()[-800:]}")


def _ntfs_manifest(manifest: Path, stage: Path, files: Sequence[FileSpec],
                            deleted: Sequence[DeletedSpec], epoch: int) -> None:
    """The instructions for :mod:`icarus.sim.diskimage_ntfs`, as JSON (sorted: deterministic)."""
    folders = sorted({str(PurePosixPath(p).parent) for p, _, _ in files}
                     | {str(PurePosixPath(p).parent) for p, _ in deleted})
    every: set[str] = set()
    for folder in folders:
        parts = PurePosixPath(folder).parts
        every.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    manifest.write_text(json.dumps({
        "epoch": epoch,
        "folders": sorted(every, key=lambda p: (p.count("/"), p)),
        "files": [[p, str(stage / p), m] for p, _, m in files],
        "deleted": [[p, str(stage / p)] for p, _ in deleted],
    }), encoding="utf-8")


def tools_missing(fs: Filesystem) -> list[str]:
    """The programs ``build_image(fs, ...)`` needs that are not on PATH (empty: all there)."""
    needs = {"fat32": ["mkfs.vfat", "mcopy", "mdel"], "ext4": ["mkfs.ext4", "debugfs"],
             "ntfs": ["mkntfs"], "exfat": ["mkfs.exfat"]}[fs]
    missing = [tool for tool in needs if shutil.which(tool) is None]
    if fs == "ntfs" and ctypes.util.find_library("ntfs-3g") is None:
        missing.append("libntfs-3g")
    return missing
