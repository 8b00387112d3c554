"""RealSolo (notebook 58): the manifest of the built test set, its checks, and the mixtures' plan."""
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import require_smoke_run
from harmonylib.data import realsolo
from harmonylib.errors import DatasetError
from harmonylib.labels import CLASSES


def test_the_built_manifest_names_readable_files_valid_labels_and_the_licence_of_every_package():
    """The RealSolo that the smoke run of ./run_tests.sh assembled from the Debian packages (notebook 58)."""
    root = realsolo.realsolo_root()
    require_smoke_run(root / "manifest.csv")
    clips = realsolo.read_realsolo(root)  # raises DatasetError on an unreadable file, a bad label, a missing licence
    solos = clips[clips["kind"] == "solo"]
    assert len(solos) == len(realsolo.RECORDINGS)
    assert {labels[0] for labels in solos["labels"]} == set(CLASSES)  # every class has a real recording
    for row in solos.itertuples():  # each file's licence is what its package's copyright file gives it
        copyright_text = (root / "licences" / f"{row.packages}.copyright").read_text()
        assert realsolo.licence_of(copyright_text, row.members) == row.licences, row.file
    mixtures = clips[clips["kind"] == "mixture"]
    assert sorted(mixtures["labels"].map(len).value_counts().items()) == sorted(realsolo.MIXTURES.items())
    assert set(mixtures["song"]) <= set(solos["song"])  # a mixture is resampled with its first member


def _tiny_realsolo(root):
    sf.write(root / "a.wav", np.zeros(4410, dtype=np.float32), 44100)
    (root / "licences").mkdir()
    (root / "licences" / "pkg.copyright").write_text("License: CC0")
    rows = [dict(file="a.wav", labels="cel", song="a", kind="solo", seconds="0.1", packages="pkg", versions="1",
                 licences="CC0", members="usr/a.wav", sha256="0", why="named cello")]
    pd.DataFrame(rows, columns=realsolo.MANIFEST_COLUMNS).to_csv(root / "manifest.csv", index=False)
    return rows


def test_a_tiny_realsolo_reads_as_evaluation_clips(tmp_path):
    _tiny_realsolo(tmp_path)
    clips = realsolo.read_realsolo(tmp_path)
    assert clips["labels"].tolist() == [("cel",)] and clips["path"].iloc[0] == str((tmp_path / "a.wav").resolve())


@pytest.mark.parametrize("change, problem", [
    (dict(labels="cello"), "unknown"),
    (dict(labels=""), "labels"),
    (dict(file="missing.wav"), "does not exist"),
    (dict(licences=""), "licences"),
    (dict(packages="other"), "no copyright file"),
])
def test_every_bad_manifest_row_is_named(tmp_path, change, problem):
    rows = _tiny_realsolo(tmp_path)
    pd.DataFrame([{**rows[0], **change}], columns=realsolo.MANIFEST_COLUMNS).to_csv(tmp_path / "manifest.csv",
                                                                                    index=False)
    with pytest.raises(DatasetError, match=problem):
        realsolo.read_realsolo(tmp_path)


def test_mixtures_hold_distinct_classes_from_distinct_packages_where_the_classes_allow():
    by_key = {r.key: r for r in realsolo.RECORDINGS}
    mixtures = realsolo.plan_mixtures()
    assert [len(m) for m in mixtures] == [size for size, n in realsolo.MIXTURES.items() for _ in range(n)]
    assert len({frozenset(m) for m in mixtures}) == len(mixtures)
    for members in mixtures:
        recordings = [by_key[k] for k in members]
        assert len({r.cls for r in recordings}) == len(members)
        packages = [r.package for r in recordings]
        for i, r in enumerate(recordings):  # an earlier member's package only where the class has no other
            if r.package in packages[:i]:
                alternatives = {o.package for o in realsolo.RECORDINGS if o.cls == r.cls}
                assert alternatives <= set(packages[:i]), members
    assert realsolo.plan_mixtures() == mixtures  # seeded


def test_a_files_licence_is_read_from_the_last_copyright_paragraph_that_names_it():
    text = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: 2016 Someone
License: MIT

Files: etc/samples/choir.flac
Copyright: 2013 Someone else
Source: http://freesound.org/
License: CC0

Files: plugins/*
License: LGPL-2+
 Some text of the licence.
"""
    assert realsolo.licence_of(text, "usr/share/pkg/samples/choir.flac") == "CC0"
    assert realsolo.licence_of(text, "usr/share/pkg/samples/piano.flac") == "MIT"  # plugins/* is not trusted
    assert realsolo.licence_of("Files: debian/*\nLicense: GPL-2+\n", "usr/share/a.wav") is None
