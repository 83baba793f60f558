"""Running the Debian file-system tools, and reading an image back with The Sleuth Kit.

Every tool runs as a subprocess with explicit arguments, no shell, no standard input, a
timeout and a small fixed environment (PATH plus what the caller adds), so a locale, a
``~/.mtoolsrc`` or a time zone of the machine cannot change the image. A missing tool is an
:class:`InternalError` naming the Debian package to install.

:func:`list_image` and :func:`read_file` wrap ``fls -r -p`` and ``icat``; :func:`normalised_listing`
gives a description of an image's files and contents that is independent of the image's other
bytes, for comparing images where byte identity cannot be had.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from icarus.core.errors import InternalError

TIMEOUT = 120
"""Seconds any one tool may take on a small image before it is stopped."""

_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run_tool(args: list[str], package: str, *, env: dict[str, str] | None = None,
             timeout: int = TIMEOUT, quiet_stderr: str | None = None) -> str:
    """Run ``args``; its standard output. Failures raise InternalError naming ``package``.

    With ``quiet_stderr`` (a regular expression), any standard-error line it does not match
    is a failure too: debugfs reports a failed command there and still exits 0.
    """
    program = shutil.which(args[0], path=_PATH + os.pathsep + os.environ.get("PATH", ""))
    if program is None:
        raise InternalError(f"{args[0]} is not installed: install the Debian package {package}")
    full_env = {"PATH": _PATH, "LC_ALL": "C", "HOME": "/nonexistent", **(env or {})}
    try:
        done = subprocess.run([program, *args[1:]], capture_output=True, env=full_env,
                              timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise InternalError(f"{args[0]} took more than {timeout} s: {' '.join(args)}") from None
    if done.returncode != 0:
        problem = (done.stderr or done.stdout).decode("utf-8", "replace").strip()[-800:]
        raise InternalError(f"{args[0]} failed (exit {done.returncode}): {problem}")
    if quiet_stderr is not None:
        noise = [line for line in done.stderr.decode("utf-8", "replace").splitlines()
                 if line.strip() and not re.match(quiet_stderr, line)]
        if noise:
            raise InternalError(f"{args[0]} reported: {' / '.join(noise)[-800:]}")
    return done.stdout.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True, order=True)
class ListedFile:
    """One name ``fls -r -p`` lists: its path, whether deleted, its metadata address, type."""

    path: str
    deleted: bool
    address: str
    kind: str
    """``r`` file, ``d`` folder, ``-`` unknown (a freed NTFS record), ``v``/``V`` virtual."""


_FLS = re.compile(r"^(\S)/(\S) (\* )?([0-9-]+)(?:\(realloc\))?:\t(.*)$")


def list_image(image: Path) -> list[ListedFile]:
    """Every name in ``image`` as ``fls -r -p`` gives it (sleuthkit), in its order."""
    out = run_tool(["fls", "-r", "-p", str(image)], "sleuthkit")
    listed = []
    for line in out.splitlines():
        match = _FLS.match(line)
        if match:
            name_type, meta_type, star, address, path = match.groups()
            kind = meta_type if name_type == "-" else name_type
            listed.append(ListedFile(path, star is not None, address, kind))
    return listed


def read_file(image: Path, address: str) -> bytes:
    """The content at metadata ``address`` of ``image`` (``icat``; deleted files too)."""
    program = shutil.which("icat", path=_PATH)
    if program is None:
        raise InternalError("icat is not installed: install the Debian package sleuthkit")
    try:
        done = subprocess.run([program, str(image), address], capture_output=True,
                              timeout=TIMEOUT, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise InternalError(f"icat took more than {TIMEOUT} s on {image}") from None
    if done.returncode != 0:
        raise InternalError(f"icat failed on {image} at {address}: {done.stderr[-400:]!r}")
    return done.stdout


def normalised_listing(image: Path) -> list[str]:
    """Sorted ``path<TAB>live|deleted<TAB>sha256`` of every user file in ``image``.

    File-system metadata files (names starting with ``$``) and folders are left out, so two
    images that hold the same files the same way compare equal whatever else differs.
    """
    lines = []
    for entry in list_image(image):
        if entry.kind not in ("r", "-") or entry.path.split("/")[-1].startswith("$"):
            continue
        if "$OrphanFiles" in entry.path or entry.path.endswith("(Volume Label Entry)"):
            continue
        digest = hashlib.sha256(read_file(image, entry.address)).hexdigest()
        lines.append(f"{entry.path}\t{'deleted' if entry.deleted else 'live'}\t{digest}")
    return sorted(lines)
