"""Which files a command hashes: the files named, and the regular files under the folders named.

Symbolic links met inside a folder are never followed (no loops, no escape from the tree being
examined); a path named explicitly is taken as the user means it, like ``find -H``: a link named
on the command line is resolved once. Devices, FIFOs and sockets inside folders are skipped:
reading them could block or never end.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from icarus.core.errors import InputError

OnError = Callable[[Path, str], None]
"""Receives a folder that could not be listed and the OS reason; the walk goes on."""


def iter_files(paths: Iterable[Path], *, on_error: OnError | None = None) -> Iterator[Path]:
    """The regular files among ``paths`` and under the folders among them, recursively.

    Order is deterministic: ``paths`` in the order given, and within each folder a depth-first
    walk with entries sorted by name (folders and files interleaved by name). A path that does
    not exist, a named link that points nowhere, or a named device, FIFO or socket raises
    :class:`InputError` naming it. A folder inside the tree that cannot be listed raises
    :class:`InputError` too, unless ``on_error`` is given: then it is reported there and
    skipped. Paths are not de-duplicated: a file named twice is yielded twice.
    """
    for raw in paths:
        path = Path(raw)
        try:
            info = path.stat()
        except FileNotFoundError:
            kind = "broken symbolic link" if path.is_symlink() else "no such file or folder"
            raise InputError(kind, path=path) from None
        except OSError as exc:
            raise InputError(f"cannot examine: {exc.strerror or exc}", path=path) from None
        if stat.S_ISREG(info.st_mode):
            yield path
        elif stat.S_ISDIR(info.st_mode):
            yield from _walk(path, on_error)
        else:
            # Named on purpose (a disk device, say) yet unusable: say so rather than skip it.
            raise InputError("not a regular file or folder", path=path)


def _walk(folder: Path, on_error: OnError | None) -> Iterator[Path]:
    # A stack of sorted listings instead of recursion: trees deeper than Python's recursion
    # limit exist, and only one listing per level is held in memory.
    stack: list[Iterator[os.DirEntry[str]]] = [iter(_listing(folder, on_error))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                stack.append(iter(_listing(Path(entry.path), on_error)))
            elif entry.is_file(follow_symlinks=False):
                yield Path(entry.path)
        except OSError:
            continue  # vanished since its folder was listed


def _listing(folder: Path, on_error: OnError | None) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError as exc:
        reason = f"cannot list folder: {exc.strerror or exc}"
        if on_error is None:
            raise InputError(reason, path=folder) from None
        on_error(folder, reason)
        return []
