"""Raw images without mounting: The Sleuth Kit (fls, icat) is the oracle of what they hold."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from icarus.core.errors import InternalError, UsageError
from icarus.sim.diskimage import FILESYSTEMS, Filesystem, build_image, tools_missing
from icarus.sim.diskimage_tools import list_image, normalised_listing, read_file, run_tool

pytestmark = pytest.mark.skipif(shutil.which("fls") is None or shutil.which("icat") is None,
                                reason="sleuthkit not installed")

FILES = [
    ("Users/alice/AppData/Local/eMule/config/known.met", bytes(range(256)) * 30, 1_600_000_100),
    ("Users/alice/Downloads/eMule/Incoming/a rather long shared name.jpg",
     hashlib.shake_256(b"jpg").digest(70_000), 1_600_000_201),
    ("Users/alice/Documents/notes.txt", b"shopping list\r\n", 1_600_000_300),
    ("Users/alice/Documents/empty.dat", b"", 1_600_000_400),
]
DELETED = [
    ("Users/alice/Downloads/eMule/Incoming/deleted picture number one.jpg",
     hashlib.shake_256(b"gone").digest(30_000)),
    ("Users/alice/Pictures/another deleted clip.mp4", hashlib.shake_256(b"mp4").digest(5_000)),
]


def _size(fs: Filesystem) -> int:
    return 33 if fs == "fat32" else 8


def _needs(fs: Filesystem) -> None:
    if tools_missing(fs):
        pytest.skip(f"tools missing for {fs}: {tools_missing(fs)}")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path, float]]:
    """Each file system built twice, the second time two seconds later (FAT's time step)."""
    root = tmp_path_factory.mktemp("images")
    built: dict[str, tuple[Path, Path, float]] = {}
    for fs in FILESYSTEMS:
        if tools_missing(fs):
            continue
        started = time.perf_counter()
        build_image(fs, _size(fs), FILES, DELETED, root / f"{fs}-1.raw")
        built[fs] = (root / f"{fs}-1.raw", root / f"{fs}-2.raw", time.perf_counter() - started)
    time.sleep(2.1)
    for fs in FILESYSTEMS:
        if fs in built:
            build_image(fs, _size(fs), FILES, DELETED, built[fs][1])
    return built


@pytest.mark.parametrize("fs", FILESYSTEMS)
def test_fls_lists_live_and_deleted_files_and_icat_gives_the_bytes(
        fs: Filesystem, images: dict[str, tuple[Path, Path, float]]) -> None:
    _needs(fs)
    image = images[fs][0]
    listed = {e.path: e for e in list_image(image)}
    for path, data, _ in FILES:
        assert path in listed, f"{fs}: {path} not listed"
        assert not listed[path].deleted
        assert read_file(image, listed[path].address) == data
    for path, data in DELETED:
        assert path in listed, f"{fs}: deleted {path} not listed"
        assert listed[path].deleted  # fls marks it with '*'
        assert read_file(image, listed[path].address) == data  # still in unallocated space


@pytest.mark.parametrize("fs", FILESYSTEMS)
def test_images_are_byte_identical_from_run_to_run(
        fs: Filesystem, images: dict[str, tuple[Path, Path, float]]) -> None:
    _needs(fs)
    first, second, _ = images[fs]
    assert first.read_bytes() == second.read_bytes()


def test_every_file_system_holds_the_same_files(
        images: dict[str, tuple[Path, Path, float]]) -> None:
    listings = {fs: normalised_listing(first) for fs, (first, _, _) in images.items()}
    expected = sorted(
        [f"{p}\tlive\t{hashlib.sha256(d).hexdigest()}" for p, d, _ in FILES]
        + [f"{p}\tdeleted\t{hashlib.sha256(d).hexdigest()}" for p, d in DELETED])
    for fs, listing in listings.items():
        assert listing == expected, fs


FSCK = {"fat32": ["fsck.vfat", "-n"], "ext4": ["e2fsck", "-f", "-n"],
        "exfat": ["fsck.exfat", "-n"], "ntfs": ["ntfsfix", "-n"]}


@pytest.mark.oracle
@pytest.mark.parametrize("fs", FILESYSTEMS)
def test_the_file_system_checker_finds_no_fault(
        fs: Filesystem, images: dict[str, tuple[Path, Path, float]]) -> None:
    _needs(fs)
    if shutil.which(FSCK[fs][0]) is None:
        pytest.skip(f"{FSCK[fs][0]} not installed")
    done = subprocess.run([*FSCK[fs], str(images[fs][0])], capture_output=True, text=True,
                          check=False, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_file_times_are_kept_on_ext4(images: dict[str, tuple[Path, Path, float]]) -> None:
    if "ext4" not in images:
        pytest.skip("e2fsprogs missing")
    image = images["ext4"][0]
    listed = {e.path: e for e in list_image(image)}
    out = run_tool(["istat", str(image), listed[FILES[2][0]].address], "sleuthkit")
    assert "2020-09-13 12:31:40" in out  # 1_600_000_300 as mtime and as change time
    assert "2026" not in out and "2025" not in out


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "x.raw"
    with pytest.raises(UsageError, match="unknown file system"):
        build_image("zfs", 8, [], [], out)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="at least 33 MiB"):
        build_image("fat32", 16, [], [], out)
    with pytest.raises(UsageError, match="relative"):
        build_image("ext4", 8, [("../etc/x", b"", 0)], [], out)
    with pytest.raises(UsageError, match="twice"):
        build_image("ext4", 8, [("A/b.txt", b"", 0)], [("a/B.TXT", b"")], out)
    with pytest.raises(UsageError, match="refuse"):
        build_image("ntfs", 8, [("a/b?.txt", b"", 0)], [], out)


def test_a_missing_tool_names_its_debian_package() -> None:
    with pytest.raises(InternalError, match="install the Debian package icarus-nothing"):
        run_tool(["icarus-no-such-tool"], "icarus-nothing")


def test_a_failing_tool_is_an_internal_error(tmp_path: Path) -> None:
    if shutil.which("debugfs") is None:
        pytest.skip("e2fsprogs missing")
    with pytest.raises(InternalError, match="debugfs"):
        run_tool(["debugfs", "-R", "stat /x", str(tmp_path / "none.raw")], "e2fsprogs",
                 quiet_stderr=r"debugfs \d")
