"""The public datasets behind each task, read from generated copies of their official
layouts: patient-level splits, HU, masks, and a smoke run of each task through
`medbench run`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from layouts import write_drive, write_mayo_ldct, write_msd_liver, write_synthrad

from medbench.api import DataFileError
from medbench.cli import app
from medbench.run.datafiles import locate


def _run(runner, host, tmp_path, data, *args: str):
    result = runner.invoke(app, ["run", *args, "--budget", "tiny", "--device", "cpu",
                                 "--data-dir", str(data), "--out", str(tmp_path / "runs")],
                           obj=host)
    assert result.exit_code == 0, result.output
    records = sorted((tmp_path / "runs").glob("*/record.json"))
    return json.loads(records[-1].read_text())


def test_msd_liver_patient_level_splits_hu_and_masks(tmp_path, make_host):
    write_msd_liver(tmp_path / "data")
    dataset = make_host().registries.datasets.get("msd-liver")
    located = locate(dataset, [tmp_path / "data"])
    assert [s.state for s in located.states] == ["unpinned"]
    splits = dataset.decode(located.paths(), tmp_path / "cache")
    sizes = {split: len(arrays) for split, arrays in splits.items()}
    assert all(sizes.values()) and sum(sizes.values()) == 6 * 7  # slice 0 shows no liver
    for arrays in splits.values():
        image, mask, label = arrays["image"], arrays["mask"], arrays["label"]
        assert image.dtype == np.int16 and image.shape[1:] == (128, 128)
        assert set(np.unique(mask)) <= {0, 1, 2}
        assert (label == (mask == 2).any(axis=(1, 2))).all()
        assert image[mask == 1].mean() == pytest.approx(100, abs=15)  # HU kept
        assert image.min() >= -1024
    patients_per_split = {}
    for split, arrays in splits.items():  # each patient's 7 slices all land in one split
        assert len(arrays) % 7 == 0
        patients_per_split[split] = len(arrays) // 7
    assert sum(patients_per_split.values()) == 6


def test_msd_liver_runs_segmentation_anomaly_and_synthesis(tmp_path, make_host, runner):
    data = tmp_path / "data"
    write_msd_liver(data)
    host = make_host()
    seg = _run(runner, host, tmp_path, data, "-m", "unet", "-t", "segmentation",
               "--dataset", "msd-liver", "--set", "batch_size=16", "--metrics", "dice")
    assert seg["status"]["state"] == "ok" and seg["dataset"]["split_seed"] == 20261130
    assert seg["dataset"]["licence"] == "CC BY-SA 4.0"
    (marker,) = seg["dataset"]["source_files"].values()
    assert marker["verified"] is None and marker["expected"] is None
    assert marker["actual"].startswith("sha256:")
    anomaly = _run(runner, host, tmp_path, data, "-m", "autoencoder", "-t", "anomaly",
                   "--dataset", "msd-liver", "--set", "batch_size=8",
                   "--metrics", "image_auroc")
    assert anomaly["status"]["state"] == "ok"
    synthesis = _run(runner, host, tmp_path, data, "-m", "gaussian", "-t", "synthesis",
                     "--dataset", "msd-liver", "--metrics", "fd_randcnn")
    assert synthesis["status"]["state"] == "ok"


def test_msd_missing_or_broken_release(tmp_path, make_host, runner):
    host = make_host()
    result = runner.invoke(app, ["run", "-m", "unet", "-t", "segmentation", "--dataset",
                                 "msd-liver", "--data-dir", str(tmp_path / "data"),
                                 "--budget", "tiny"], obj=host)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "medicaldecathlon.com" in result.output
    assert str(tmp_path / "data" / "msd" / "Task03_Liver" / "dataset.json") in result.output
    task = write_msd_liver(tmp_path / "data")
    (task / "labelsTr" / "liver_3.nii.gz").unlink()
    dataset = host.registries.datasets.get("msd-liver")
    with pytest.raises(DataFileError, match="lacks 1 file"):
        dataset.decode(locate(dataset, [tmp_path / "data"]).paths(), tmp_path / "cache")


def test_drive_official_splits_fields_and_fov_scoring(tmp_path, make_host, runner):
    data = tmp_path / "data"
    write_drive(data)
    host = make_host()
    dataset = host.registries.datasets.get("drive")
    splits = dataset.decode(locate(dataset, [data]).paths(), tmp_path / "cache")
    assert {s: len(a) for s, a in splits.items()} == {"train": 16, "val": 4, "test": 20}
    test = splits["test"]
    assert test["fundus"].shape == (20, 3, 512, 512) and test["vessels"].shape == (20, 512, 512)
    assert set(np.unique(test["fov"])) == {0, 1}
    outside = test["vessels"][test["fov"] == 0].astype(float).sum()
    assert outside < 0.01 * test["vessels"].astype(float).sum()  # vessels lie inside the FOV
    conditional = _run(runner, host, tmp_path, data, "-m", "unet-l1", "-t", "conditional",
                       "--dataset", "drive", "--set", "batch_size=16", "--metrics", "psnr")
    psnr = conditional["metrics"]["psnr"]
    assert conditional["status"]["state"] == "ok", conditional["status"]
    assert "field-of-view" in json.dumps(psnr)
    segmentation = _run(runner, host, tmp_path, data, "-m", "unet", "-t",
                        "vessel-segmentation", "--dataset", "drive", "--set", "batch_size=16",
                        "--metrics", "dice")
    assert segmentation["status"]["state"] == "ok"


def test_synthrad_paired_slices_by_patient_and_translation(tmp_path, make_host, runner):
    data = tmp_path / "data"
    write_synthrad(data, "brain")
    host = make_host()
    dataset = host.registries.datasets.get("synthrad-brain")
    located = locate(dataset, [data])
    assert located.states[0].state == "unpinned"
    assert located.states[0].actual.startswith("listing:")
    splits = dataset.decode(located.paths(), tmp_path / "cache")
    assert sum(len(a) for a in splits.values()) == 5 * 6
    assert all(len(a) % 6 == 0 and len(a) for a in splits.values())  # whole patients
    train = splits["train"]
    assert train["ct"].dtype == np.int16 and train["mr"].dtype == np.uint16
    assert np.percentile(train["ct"][train["tissue"] == 0], 95) <= -900  # air outside, HU
    assert train["mr"].max() <= 4095
    record = _run(runner, host, tmp_path, data, "-m", "unet-l1", "-t", "translation",
                  "--dataset", "synthrad-brain", "--set", "batch_size=16", "--metrics",
                  "mae_hu")
    assert record["status"]["state"] == "ok", record["status"]
    assert record["dataset"]["noncommercial"] is True
    assert "body" in json.dumps(record["metrics"]["mae_hu"])
    unpaired = _run(runner, host, tmp_path, data, "-m", "identity", "-t",
                    "translation-unpaired", "--dataset", "synthrad-brain", "--metrics",
                    "mae_hu")
    assert unpaired["status"]["state"] == "ok", unpaired["status"]


def test_mayo_ldct_pairs_slices_by_position_and_reconstructs(tmp_path, make_host, runner):
    data = tmp_path / "data"
    write_mayo_ldct(data)
    host = make_host()
    dataset = host.registries.datasets.get("mayo-ldct-3mm")
    splits = dataset.decode(locate(dataset, [data]).paths(), tmp_path / "cache")
    assert sum(len(a) for a in splits.values()) == 4 * 3
    for arrays in splits.values():
        full, low = arrays["full_dose"].astype(float), arrays["low_dose"].astype(float)
        assert full.shape[1:] == (256, 256) and arrays["full_dose"].dtype == np.int16
        # each pair is the same slice: the quarter dose differs by its noise alone
        assert np.abs(full - low).mean() < 0.2 * np.abs(full - full[::-1]).mean() + 30
        assert full.min() < -500  # HU through the modality LUT, not stored values
    record = _run(runner, host, tmp_path, data, "-m", "identity", "-t", "reconstruction",
                  "--dataset", "mayo-ldct-3mm", "--metrics", "psnr")
    assert record["status"]["state"] == "ok", record["status"]
    one_mm = runner.invoke(app, ["run", "-m", "unet-l1", "-t", "reconstruction", "--dataset",
                                 "mayo-ldct-1mm", "--budget", "tiny", "--data-dir", str(data)],
                           obj=host)
    assert one_mm.exit_code == 1 and "Traceback" not in one_mm.output
    assert "full_1mm" in one_mm.output


def test_low_dose_simulated_from_real_ct(tmp_path, make_host, runner):
    data = tmp_path / "data"
    write_msd_liver(data, patients=4, slices=4)
    host = make_host()
    dataset = host.registries.datasets.get("lowdose-msd-liver")
    splits = dataset.decode(locate(dataset, [data]).paths(), tmp_path / "cache")
    liver = host.registries.datasets.get("msd-liver")
    real = liver.decode(locate(liver, [data]).paths(), tmp_path / "cache-liver")
    for split in ("train", "val", "test"):  # the same slices, the acquired one the target
        np.testing.assert_array_equal(splits[split]["full_dose"], real[split]["image"])
    low, full = splits["train"]["low_dose"].astype(float), splits["train"]["full_dose"]
    noise = low - full
    assert noise.std() > 5  # the simulated dose adds noise...
    assert abs(np.median(noise)) < 30  # ...around the same HU
    record = _run(runner, host, tmp_path, data, "-m", "identity", "-t", "reconstruction",
                  "--dataset", "lowdose-msd-liver", "--metrics", "psnr")
    assert record["status"]["state"] == "ok", record["status"]
