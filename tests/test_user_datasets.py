"""A lab's own data: the readers on real DICOM and NIfTI files, `medbench datasets add` and
every check it makes, and runs on the registered dataset."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.pixels import apply_modality_lut

from medbench.api import DataFileError, read_dicom, read_nifti, read_slices
from medbench.cli import app
from medbench.record.spec import RunSpec
from medbench.run.runner import plan_run


def _dicom(name: str) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns that it cannot download more files
        return Path(get_testdata_file(name))


@pytest.fixture
def add(runner, make_host):
    """`medbench datasets add NAME ...` through the CLI; the result and the host."""
    def invoke(*args: str):
        host = make_host()
        return runner.invoke(app, ["datasets", "add", *args], obj=host)
    return invoke


def test_ct_dicom_is_in_hounsfield_units():
    path = _dicom("CT_small.dcm")
    ds = pydicom.dcmread(path)
    assert (ds.RescaleSlope, ds.RescaleIntercept) == (1, -1024)
    ours = read_dicom(path)
    assert ours.dtype == np.int16
    np.testing.assert_array_equal(ours, ds.pixel_array.astype(np.int32) - 1024)
    np.testing.assert_array_equal(ours, apply_modality_lut(ds.pixel_array, ds))


def test_monochrome1_is_inverted_and_16_bit_kept():
    path = _dicom("RG1_UNCI.dcm")  # a real CR in MONOCHROME1, 15 bits stored
    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1" and ds.BitsStored == 15
    ours = read_dicom(path)
    assert ours.dtype == np.uint16
    np.testing.assert_array_equal(ours, (2**15 - 1) - ds.pixel_array.astype(np.int64))


def test_mr_and_colour_dicom():
    mr = _dicom("MR_small.dcm")
    np.testing.assert_array_equal(read_dicom(mr), pydicom.dcmread(mr).pixel_array)
    colour = read_dicom(_dicom("US1_UNCR.dcm"))  # ultrasound, RGB
    assert colour.shape == (480, 640, 3) and colour.dtype == np.uint8


def test_nifti_volumes_become_canonical_axial_slices():
    from nilearn.datasets import load_mni152_template

    path = Path(nib.__file__).parent / "tests" / "data" / "anatomical.nii"
    image = nib.load(str(path))
    canonical = nib.as_closest_canonical(image).get_fdata()
    slices = read_slices(path)
    assert len(slices) == canonical.shape[2]
    np.testing.assert_allclose(np.stack(slices, axis=-1), canonical)
    template = load_mni152_template(resolution=2)
    with_file = Path(os.environ["MEDBENCH_CACHE"]) / "mni.nii.gz"
    nib.save(template, str(with_file))
    reference = nib.as_closest_canonical(nib.load(str(with_file))).get_fdata()
    np.testing.assert_allclose(read_nifti(with_file), reference, rtol=1e-6)
    assert read_nifti(with_file).shape == template.shape


def _png_folder(root: Path, patients: int = 6, per_patient: int = 3, size: int = 24,
                masks: bool = True) -> Path:
    """PNG images of `patients` patients, labelled normal or lesion, with masks."""
    rng = np.random.default_rng(0)
    lines = ["path,patient,label" + (",mask" if masks else "")]
    for patient in range(patients):
        for index in range(per_patient):
            lesion = (patient + index) % 2
            image = rng.integers(40, 90, (size, size), dtype=np.uint8)
            mask = np.zeros((size, size), np.uint8)
            mask[3:20, 3:20] = 1  # the organ
            image[mask == 1] += 60
            if lesion:
                mask[5:11, 6:12] = 2
                image[mask == 2] = 220
            name = f"p{patient}/img{index}.png"
            (root / f"p{patient}").mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(root / name)
            Image.fromarray(mask).save(root / f"p{patient}/mask{index}.png")
            label = "lesion" if lesion else "normal"
            lines.append(f"{name},P{patient},{label}" + (f",p{patient}/mask{index}.png"
                                                         if masks else ""))
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root / "manifest.csv"


def test_png_dataset_registers_and_runs_every_image_task(tmp_path, add, runner, make_host):
    manifest = _png_folder(tmp_path / "lab", patients=10, per_patient=4)
    result = add("lab-png", "--from", str(tmp_path / "lab"), "--manifest", str(manifest),
                 "--normal-class", "normal", "--mask-names", "background,liver,lesion")
    assert result.exit_code == 0, result.output
    assert "registered lab-png version 1" in result.output
    entry = json.loads(Path(os.environ["MEDBENCH_USER_DATASETS"]).read_text())["datasets"][
        "lab-png"]
    by_split: dict[str, set[str]] = {}
    for row in entry["rows"]:
        by_split.setdefault(row["split"], set()).add(row["patient"])
    assert set(by_split) == {"train", "val", "test"}
    assert sum(len(p) for p in by_split.values()) == 10  # every patient in one split only
    host = make_host()
    dataset = host.registries.datasets.get("lab-png")
    assert dataset.class_names == ("lesion", "normal") and dataset.normal_class == "normal"
    for task, metric in (("synthesis", "fd_randcnn"), ("anomaly", "image_auroc"),
                         ("segmentation", "dice")):
        method = {"synthesis": "gaussian", "anomaly": "autoencoder",
                  "segmentation": "unet"}[task]
        run = runner.invoke(app, ["run", "-m", method, "-t", task, "--dataset", "lab-png",
                                  "--budget", "tiny", "--metrics", metric, "--device", "cpu",
                                  "--out", str(tmp_path / "runs"),
                                  *([] if task == "synthesis" else ["--set", "batch_size=8"])],
                            obj=host)
        assert run.exit_code == 0, run.output
    records = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*/record.json")]
    assert {r["dataset"]["name"] for r in records} == {"lab-png"}
    assert all(r["dataset"]["verified"] and len(r["dataset"]["source_files"]) == 80
               for r in records)
    info = runner.invoke(app, ["datasets", "info", "lab-png"], obj=host)
    assert info.exit_code == 0 and "pinned by" not in info.output.split("Pinned")[1][:40]
    sweep = runner.invoke(app, ["sweep", "--methods", "gaussian,holdout", "--tasks",
                                "synthesis", "--datasets", "lab-png", "--seeds", "0,1",
                                "--budget", "tiny", "--out", str(tmp_path / "sweep")],
                          obj=host)
    assert sweep.exit_code == 0, sweep.output
    board = runner.invoke(app, ["leaderboard", "--dataset", "lab-png", "--format", "csv",
                                "--out", str(tmp_path / "boards")], obj=host)
    assert board.exit_code == 0, board.output
    tables = {table.name: table.read_text() for table in (tmp_path / "boards").glob("*.csv")}
    assert "synthesis--lab-png--tiny.csv" in tables, sorted(tables)
    assert "gaussian" in tables["synthesis--lab-png--tiny.csv"]


def test_an_edited_image_is_detected_at_the_next_run(tmp_path, add, make_host):
    manifest = _png_folder(tmp_path / "lab")
    assert add("lab", "--from", str(tmp_path / "lab"), "--manifest",
               str(manifest)).exit_code == 0
    edited = tmp_path / "lab" / "p2" / "img1.png"
    Image.fromarray(np.full((24, 24), 7, np.uint8)).save(edited)
    with pytest.raises(DataFileError) as caught:
        plan_run(RunSpec("gaussian", "synthesis", "lab", "tiny"), make_host().registries,
                 tmp_path / "runs")
    assert str(edited) in str(caught.value) and "register the dataset again" in str(caught.value)


def _dicom_patients(root: Path) -> Path:
    """Real DICOM (CT_small) rewritten per patient with other pixels, as a scanner export
    would be: the files keep every tag, rescale and VR of the original."""
    source = pydicom.dcmread(_dicom("CT_small.dcm"))
    lines = ["path,patient,split"]
    for patient, split in enumerate(["train", "train", "train", "val", "test", "test"]):
        for index in range(2):
            ds = source.copy()
            pixels = np.roll(source.pixel_array, 7 * patient + 3 * index, axis=1)
            ds.PixelData = pixels.astype(source.pixel_array.dtype).tobytes()
            ds.PatientID = f"PAT{patient}"
            name = f"pat{patient}/slice{index}.dcm"
            (root / f"pat{patient}").mkdir(parents=True, exist_ok=True)
            ds.save_as(root / name)
            lines.append(f"{name},PAT{patient},{split}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root / "manifest.csv"


def test_dicom_ct_dataset_keeps_hu_with_a_configurable_window(tmp_path, add, make_host):
    manifest = _dicom_patients(tmp_path / "ct")
    result = add("lab-ct", "--from", str(tmp_path / "ct"), "--manifest", str(manifest),
                 "--window", "40,400", "--resize", "64")
    assert result.exit_code == 0, result.output
    dataset = make_host().registries.datasets.get("lab-ct")
    image = dataset.field("image")
    assert image.dtype == "int16" and image.window == (40.0, 400.0)
    assert image.value_range == (-160.0, 240.0)
    arrays = dataset.decode({}, tmp_path / "cache")
    assert arrays["train"]["image"].shape == (6, 64, 64)
    assert arrays["train"]["image"].min() < -100  # HU, not raw stored values


def _expect_refused(add, tmp_path, manifest_lines, words, *extra):
    (tmp_path / "lab" / "manifest.csv").write_text("\n".join(manifest_lines) + "\n")
    result = add("bad", "--from", str(tmp_path / "lab"), "--manifest",
                 str(tmp_path / "lab" / "manifest.csv"), *extra)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert words in result.output, result.output
    assert not Path(os.environ["MEDBENCH_USER_DATASETS"]).exists()  # nothing registered


def test_every_problem_is_refused_in_one_line_naming_the_paths(tmp_path, add):
    _png_folder(tmp_path / "lab", masks=True)
    lab = tmp_path / "lab"
    (lab / "broken.png").write_bytes(b"\x89PNG not really")
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(lab / "big.png")
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(lab / "smallmask.png")
    Image.fromarray(np.zeros((24, 24, 3), np.uint8)).save(lab / "colour.png")
    base = ["path,patient,split,label,mask"]
    good = [f"p{p}/img{i}.png,P{p},{s},normal,p{p}/mask{i}.png"
            for p, s in ((0, "train"), (1, "val"), (2, "test")) for i in range(2)]
    _expect_refused(add, tmp_path, base + good + ["broken.png,P0,train,normal,p0/mask0.png"],
                    "cannot be read as PNG, JPEG, TIFF, NIfTI or DICOM: broken.png")
    _expect_refused(add, tmp_path, base + good + ["nowhere.png,P0,train,normal,p0/mask0.png"],
                    "missing under")
    _expect_refused(add, tmp_path, base + good + ["big.png,P0,train,normal,p0/mask0.png"],
                    "Images have different shapes")
    _expect_refused(add, tmp_path, base + good + ["colour.png,P0,train,normal,p0/mask0.png"],
                    "Images mix grey and colour; pass --channels 1 or 3: colour.png")
    _expect_refused(add, tmp_path, base + good[:4],
                    "Split(s) test would be empty")
    _expect_refused(add, tmp_path, base + good + ["p3/img0.png,P3,train,tumour,p3/mask0.png"],
                    "Labels outside the declared classes normal, lesion: p3/img0.png (tumour)",
                    "--classes", "normal,lesion")
    _expect_refused(add, tmp_path, base + good + ["p3/img0.png,P3,train,normal,smallmask.png"],
                    "Mask shape (20, 20) does not match its image's (24, 24): smallmask.png")
    _expect_refused(add, tmp_path, base + good + ["p0/img0.png,P9,test,normal,p0/mask0.png"],
                    "The same image is in two splits: p0/img0.png (train), p0/img0.png (test)")
    _expect_refused(add, tmp_path, base + good + ["p3/img0.png,P0,test,normal,p3/mask0.png"],
                    "Patient 'P0' is in two splits")
    _expect_refused(add, tmp_path, ["file,who", "a.png,P0"], "needs columns path and patient")


def test_names_and_replacing(tmp_path, add):
    manifest = _png_folder(tmp_path / "lab", masks=False)
    args = ("--from", str(tmp_path / "lab"), "--manifest", str(manifest))
    assert add("phantom", *args).exit_code == 1  # a built-in's name
    assert add("Bad Name", *args).exit_code == 1
    assert add("mine", *args).exit_code == 0
    again = add("mine", *args)
    assert again.exit_code == 1 and "--replace" in again.output
    replaced = add("mine", *args, "--replace")
    assert replaced.exit_code == 0 and "version 2" in replaced.output


def test_real_nifti_and_monochrome1_dicom_through_the_user_path(tmp_path, add, make_host):
    """nilearn's MNI152 template (NIfTI volumes) and pydicom-data's MONOCHROME1 radiograph,
    each written per patient as a scanner export would be, registered and decoded."""
    from nilearn.datasets import load_mni152_template

    lab = tmp_path / "nifti"
    lab.mkdir()
    template = load_mni152_template(resolution=2)
    volume = np.asarray(template.dataobj)[:, :, 30:34]
    lines = ["path,patient"]
    for patient in range(4):
        shifted = np.roll(volume, 3 * patient, axis=0).astype(np.float32)
        nib.save(nib.Nifti1Image(shifted, template.affine), str(lab / f"p{patient}.nii.gz"))
        lines.append(f"p{patient}.nii.gz,P{patient}")
    (lab / "manifest.csv").write_text("\n".join(lines) + "\n")
    result = add("mni", "--from", str(lab), "--manifest", str(lab / "manifest.csv"),
                 "--resize", "48")
    assert result.exit_code == 0, result.output
    dataset = make_host().registries.datasets.get("mni")
    splits = dataset.decode({}, tmp_path / "cache-mni")
    assert sum(len(a) for a in splits.values()) == 4 * 4  # every axial slice a sample
    assert splits["train"]["image"].dtype == np.float32

    radiographs = tmp_path / "cr"
    radiographs.mkdir()
    source = pydicom.dcmread(_dicom("RG1_UNCI.dcm"))
    lines = ["path,patient"]
    for patient in range(3):
        ds = source.copy()
        ds.PixelData = np.roll(source.pixel_array, 50 * patient, axis=1).tobytes()
        ds.save_as(radiographs / f"cr{patient}.dcm")
        lines.append(f"cr{patient}.dcm,P{patient}")
    (radiographs / "manifest.csv").write_text("\n".join(lines) + "\n")
    result = add("cr", "--from", str(radiographs), "--manifest",
                 str(radiographs / "manifest.csv"), "--resize", "64")
    assert result.exit_code == 0, result.output
    cr = make_host().registries.datasets.get("cr")
    assert cr.field("image").dtype == "uint16"
    arrays = cr.decode({}, tmp_path / "cache-cr")
    image = np.concatenate([a["image"] for a in arrays.values()])
    assert image.shape == (3, 64, 64)
