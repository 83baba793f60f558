"""Fill an unmounted NTFS image through libntfs-3g, in a child process.

Run as ``python -m icarus.sim.diskimage_ntfs IMAGE MANIFEST.json`` by
:func:`icarus.sim.diskimage.build_image`. libntfs-3g (Debian ``libntfs-3g89``, part of
ntfs-3g) is the library behind ``ntfscp``: ``ntfs_mount`` opens the image file in user space,
nothing is mounted in the kernel. Folders and files are made with ``ntfs_create``, written
with ``ntfs_attr_pwrite`` and given their times with ``ntfs_inode_set_times``; the deleted
files are written, closed, then removed with ``ntfs_delete``, which frees the MFT record (its
in-use flag is cleared, its attributes stay) and the data clusters, and removes the name from
the folder's index, as Windows does. The library stamps the MFT-change time and new folders
with the clock; :mod:`icarus.sim.diskimage_ntfstimes` then replaces those times with the
manifest's ``epoch`` so that the image is byte-identical from run to run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import stat
import struct
import sys
import time
from pathlib import Path, PurePosixPath

from icarus.sim.diskimage_ntfstimes import NTFS_EPOCH_OFFSET, TICKS, normalise_times

_P = ctypes.c_void_p
AT_DATA = 0x80


class NtfsError(RuntimeError):
    """libntfs-3g refused an operation (the message names the path and errno)."""


def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("ntfs-3g") or "libntfs-3g.so.89"
    lib = ctypes.CDLL(name, use_errno=True)
    signatures: dict[str, tuple[type | None, list[type]]] = {
        "ntfs_mount": (_P, [ctypes.c_char_p, ctypes.c_ulong]),
        "ntfs_umount": (ctypes.c_int, [_P, ctypes.c_int]),
        "ntfs_pathname_to_inode": (_P, [_P, _P, ctypes.c_char_p]),
        "ntfs_create": (_P, [_P, ctypes.c_uint32, _P, ctypes.c_uint8, ctypes.c_uint32]),
        "ntfs_inode_close": (ctypes.c_int, [_P]),
        "ntfs_attr_open": (_P, [_P, ctypes.c_uint32, _P, ctypes.c_uint32]),
        "ntfs_attr_pwrite": (ctypes.c_int64, [_P, ctypes.c_int64, ctypes.c_int64,
                                              ctypes.c_char_p]),
        "ntfs_attr_close": (None, [_P]),
        "ntfs_delete": (ctypes.c_int, [_P, ctypes.c_char_p, _P, _P, _P, ctypes.c_uint8]),
        "ntfs_inode_set_times": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_size_t,
                                                ctypes.c_int]),
    }
    for function, (restype, argtypes) in signatures.items():
        getattr(lib, function).restype = restype
        getattr(lib, function).argtypes = argtypes
    return lib


class _Volume:
    def __init__(self, image: Path) -> None:
        self.lib = _library()
        self.unnamed = ctypes.addressof(ctypes.c_uint16.in_dll(self.lib, "AT_UNNAMED"))
        self.vol = self.lib.ntfs_mount(str(image).encode(), 0)
        if not self.vol:
            raise NtfsError(f"{image}: libntfs-3g cannot open the volume ({self._errno()})")

    def _errno(self) -> str:
        number = ctypes.get_errno()
        return f"errno {number}"

    def open(self, path: str) -> int:
        inode: int | None = self.lib.ntfs_pathname_to_inode(self.vol, None, ("/" + path).encode())
        if not inode:
            raise NtfsError(f"/{path}: not found in the NTFS image ({self._errno()})")
        return inode

    def create(self, path: str, mode: int) -> int:
        pure = PurePosixPath(path)
        parent = self.open(str(pure.parent) if str(pure.parent) != "." else "")
        name = ctypes.create_string_buffer(pure.name.encode("utf-16-le"), len(pure.name) * 2 + 2)
        inode: int | None = self.lib.ntfs_create(parent, 0, name, len(pure.name), mode)
        self.lib.ntfs_inode_close(parent)
        if not inode:
            raise NtfsError(f"/{path}: ntfs_create failed ({self._errno()})")
        return inode

    def write(self, inode: int, data: bytes, path: str) -> None:
        attr = self.lib.ntfs_attr_open(inode, AT_DATA, self.unnamed, 0)
        if not attr:
            raise NtfsError(f"/{path}: no data attribute ({self._errno()})")
        written = self.lib.ntfs_attr_pwrite(attr, 0, len(data), data) if data else 0
        self.lib.ntfs_attr_close(attr)
        if written != len(data):
            raise NtfsError(f"/{path}: wrote {written} of {len(data)} bytes ({self._errno()})")

    def set_times(self, inode: int, unix: int) -> None:
        ticks = unix * TICKS + NTFS_EPOCH_OFFSET
        # creation, last data change, last access; the MFT-change time is the clock's.
        self.lib.ntfs_inode_set_times(inode, struct.pack("<3Q", ticks, ticks, ticks), 24, 0)

    def delete(self, path: str) -> None:
        pure = PurePosixPath(path)
        inode = self.open(path)
        parent = self.open(str(pure.parent) if str(pure.parent) != "." else "")
        name = ctypes.create_string_buffer(pure.name.encode("utf-16-le"), len(pure.name) * 2 + 2)
        # ntfs_delete closes both inodes, whatever it returns.
        if self.lib.ntfs_delete(self.vol, ("/" + path).encode(), inode, parent, name,
                                len(pure.name)):
            raise NtfsError(f"/{path}: ntfs_delete failed ({self._errno()})")

    def close(self) -> None:
        if self.lib.ntfs_umount(self.vol, 0):
            raise NtfsError(f"closing the NTFS volume failed ({self._errno()})")


def populate(image: Path, manifest: dict[str, object]) -> None:
    """Create the manifest's folders and files in ``image``, then delete its deleted files."""
    epoch = int(str(manifest["epoch"]))
    folders = [str(f) for f in manifest["folders"]]  # type: ignore[attr-defined]
    files = [(str(p), Path(s), int(m)) for p, s, m in manifest["files"]]  # type: ignore[attr-defined]
    deleted = [(str(p), Path(s)) for p, s in manifest["deleted"]]  # type: ignore[attr-defined]
    started = time.time()
    volume = _Volume(image)
    for folder in folders:
        volume.lib.ntfs_inode_close(volume.create(folder, stat.S_IFDIR))
    for path, source, mtime in [*files, *((p, s, epoch) for p, s in deleted)]:
        inode = volume.create(path, stat.S_IFREG)
        volume.write(inode, source.read_bytes(), path)
        volume.set_times(inode, mtime)
        volume.lib.ntfs_inode_close(inode)
    for path, _ in deleted:
        volume.delete(path)
    for folder in folders:
        inode = volume.open(folder)
        volume.set_times(inode, epoch)
        volume.lib.ntfs_inode_close(inode)
    volume.close()
    normalise_times(image, started - 5, time.time() + 5, epoch)


def main(argv: list[str]) -> int:
    """Entry point of the child process: ``IMAGE MANIFEST``; exit 1 with a message on failure."""
    image, manifest = Path(argv[0]), Path(argv[1])
    try:
        populate(image, json.loads(manifest.read_text(encoding="utf-8")))
    except (NtfsError, OSError, ValueError) as exc:
        print(f"{image}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
