"""Matching files end to end: exact digests, PDQ pictures, and vPDQ videos against the bank."""

from __future__ import annotations

import hashlib
from pathlib import Path

from PIL import Image

from icarus.bank.files import IdentifyOptions, identify_files, match_identities
from icarus.bank.service import BankService
from icarus.identify.vpdq import format_vpdq, vpdq_file
from icarus.sim.pictures import picture, variant
from tests.bank.conftest import write_vics
from tests.identify.synthetic import reencode_video, write_video


def _match(service: BankService, folder: Path) -> dict[str, list[tuple[str, str]]]:
    reports = match_identities(
        identify_files([folder], IdentifyOptions(workers=2)), service.matcher(),
        vpdq_thresholds=(80.0, 0.0))
    return {Path(r.identity.path).name: sorted((m.digest_kind, m.category.value)
                                               for m in r.matches) for r in reports}


def test_known_video_found_in_copies_and_clips(service: BankService, tmp_path: Path) -> None:
    known = write_video(tmp_path / "known.mp4", list(range(40, 52)))
    frames = vpdq_file(known).frames
    assert len(frames) >= 10
    src = write_vics(tmp_path / "set.json", [{
        "MediaID": 1, "Category": 1,
        "MD5": hashlib.md5(known.read_bytes()).hexdigest(),  # noqa: S324
        "AlternativeHashes": [{"HashName": "vPDQ", "HashValue": format_vpdq(frames)}],
    }])
    result = service.import_file(src, set_name="videos")
    assert result.record is not None and result.record.rejects == 0
    seized = tmp_path / "seized"
    seized.mkdir()
    reencode_video(known, seized / "copy.avi", size=(160, 120), bit_rate=150_000)
    reencode_video(known, seized / "clip.mkv", start=3.0, end=8.0)
    write_video(seized / "other.mp4", list(range(70, 80)))
    (seized / "exact.mp4").write_bytes(known.read_bytes())
    found = _match(service, seized)
    assert found["copy.avi"] == [("vpdq", "csam")]
    assert found["clip.mkv"] == [("vpdq", "csam")]
    assert found["other.mp4"] == []
    assert ("md5", "csam") in found["exact.mp4"]
    reports = {Path(r.identity.path).name: r for r in match_identities(
        identify_files([seized / "clip.mkv"], IdentifyOptions()), service.matcher(),
        vpdq_thresholds=(80.0, 0.0))}
    hit = reports["clip.mkv"].matches[0]
    assert hit.query_percent is not None and hit.query_percent >= 80
    assert hit.compared_percent is not None and hit.compared_percent < 60
    # the vPDQ survives an export and re-import
    exported = tmp_path / "export.json"
    service.export_to_file("videos", "vics", exported)
    service.import_file(exported, set_name="again")
    again = service.matcher(["again"])
    assert [m.digest_kind for r in match_identities(
        identify_files([seized / "copy.avi"], IdentifyOptions()), again,
        vpdq_thresholds=(80.0, 0.0)) for m in r.matches] == ["vpdq"]
    strict = list(match_identities(
        identify_files([seized / "clip.mkv"], IdentifyOptions()), service.matcher(),
        vpdq_thresholds=(80.0, 80.0)))
    assert strict[0].matches == ()


def test_pictures_exact_perceptual_and_dihedral(service: BankService, tmp_path: Path) -> None:
    from icarus.identify.pdq import pdq_image

    known = picture(500)
    src = write_vics(tmp_path / "set.json", [{
        "MediaID": 1, "Category": 2, "MD5": "00" * 16,
        "AlternativeHashes": [{"HashName": "PDQ", "HashValue": pdq_image(known).hex}],
    }])
    service.import_file(src, set_name="pics")
    seized = tmp_path / "seized"
    seized.mkdir()
    variant(known, 1).save(seized / "smaller.jpg", quality=60)
    known.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(seized / "mirrored.png")
    picture(501).save(seized / "unrelated.png")
    found = _match(service, seized)
    assert found["smaller.jpg"] == [("pdq", "exploitative")]
    assert found["mirrored.png"] == [] and found["unrelated.png"] == []
    turned = list(match_identities(
        identify_files([seized / "mirrored.png"], IdentifyOptions(dihedral=True)),
        service.matcher(), vpdq_thresholds=(80.0, 0.0)))
    assert [m.digest_kind for m in turned[0].matches] == ["pdq"]
