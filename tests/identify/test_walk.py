"""The walk that feeds hashing: sorted, recursive, regular files only, links not followed."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from icarus.core.errors import InputError
from icarus.identify.walk import iter_files

MakeFile = Callable[[str, bytes], Path]


def test_walk_is_sorted_recursive_and_regular_files_only(
    make_file: MakeFile, tmp_path: Path
) -> None:
    for name in ("b/2.bin", "b/10.bin", "a.bin", "c/d/e.bin", "c.bin", "b/sub/x.bin"):
        make_file(f"root/{name}", b"x")
    root = tmp_path / "root"
    (root / "b" / "empty").mkdir()
    os.mkfifo(root / "fifo")
    (root / "link-to-file").symlink_to(root / "a.bin")
    (root / "c" / "loop").symlink_to(root, target_is_directory=True)
    got = [p.relative_to(root).as_posix() for p in iter_files([root])]
    assert got == ["a.bin", "b/10.bin", "b/2.bin", "b/sub/x.bin", "c/d/e.bin", "c.bin"]


def test_walk_keeps_the_order_of_named_paths(make_file: MakeFile, tmp_path: Path) -> None:
    one = make_file("z.bin", b"1")
    folder_file = make_file("dir/a.bin", b"2")
    assert list(iter_files([one, tmp_path / "dir"])) == [one, folder_file]


def test_walk_follows_a_link_named_explicitly(make_file: MakeFile, tmp_path: Path) -> None:
    target = make_file("real/f.bin", b"x")
    link = tmp_path / "named-link"
    link.symlink_to(tmp_path / "real", target_is_directory=True)
    assert [p.name for p in iter_files([link])] == [target.name]


def test_walk_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nothing-here: no such file or folder"):
        list(iter_files([tmp_path / "nothing-here"]))
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match="dangling: broken symbolic link"):
        list(iter_files([dangling]))


def test_walk_refuses_a_named_special_file(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="pipe: not a regular file or folder"):
        list(iter_files([fifo]))


def test_walk_reports_an_unlistable_folder_and_goes_on(
    make_file: MakeFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_file("root/a/1.bin", b"1")
    make_file("root/b/2.bin", b"2")
    real_scandir = os.scandir

    def scandir(path: str | os.PathLike[str]) -> object:
        if Path(path).name == "a":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError, match=r"root/a: cannot list folder: Permission denied"):
        list(iter_files([tmp_path / "root"]))
    skipped: list[tuple[Path, str]] = []
    got = list(iter_files([tmp_path / "root"], on_error=lambda p, r: skipped.append((p, r))))
    assert [p.name for p in got] == ["2.bin"]
    assert [(p.name, r) for p, r in skipped] == [("a", "cannot list folder: Permission denied")]
