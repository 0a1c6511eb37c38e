"""File-backed datasets: where files are looked for, checksums, fetch (resume, atomic,
offline), status, --allow-unverified, and what the record and leaderboards say of them."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from medbench.api import DataFileError, SilentProgress
from medbench.cli import app
from medbench.datasets.medmnist.info import medmnist_info
from medbench.record.spec import RunSpec
from medbench.report.leaderboards import build_leaderboards, row_label
from medbench.run.datafiles import ChecksumCache, candidates, data_dirs, locate, require
from medbench.run.fetch import Offline, fetch_dataset
from medbench.run.runner import execute, plan_run

from support import DatasetsPlugin, small_medmnist, write_medmnist_npz

COUNTS = {"train": 40, "val": 12, "test": 24}


@pytest.fixture
def cli(runner):
    """`medbench ARGS` with `host`'s plugins."""
    return lambda args, host: runner.invoke(app, args, obj=host)


@pytest.fixture
def pneumonia(tmp_path: Path):
    """A small pneumoniamnist-28 in the official layout in a data folder, and its dataset."""
    data = tmp_path / "data"
    md5 = write_medmnist_npz(data / "medmnist" / "pneumoniamnist.npz", "pneumoniamnist", 28,
                             COUNTS)
    return data, small_medmnist("pneumoniamnist", 28, COUNTS, md5)


def test_search_order_data_dir_then_env_then_cache_then_conventional(
        tmp_path, monkeypatch, pneumonia):
    _, dataset = pneumonia
    monkeypatch.setenv("MEDBENCH_DATA", str(tmp_path / "env"))
    dirs = data_dirs(tmp_path / "explicit")
    assert dirs == [tmp_path / "explicit", tmp_path / "env",
                    Path(os.environ["MEDBENCH_CACHE"]) / "data"]
    file = dataset.data_files()[0]
    places = candidates(dataset, file, dirs)
    assert places[:3] == [d / "medmnist" / "pneumoniamnist.npz" for d in dirs]
    assert places[3] == Path("~/.medmnist/pneumoniamnist.npz").expanduser()
    assert places[3].is_relative_to(tmp_path / "home")  # the tests' HOME, never the user's


def test_conventional_medmnist_folder_is_found(tmp_path, pneumonia):
    data, dataset = pneumonia
    home = Path("~/.medmnist").expanduser()
    home.mkdir(parents=True)
    (data / "medmnist" / "pneumoniamnist.npz").rename(home / "pneumoniamnist.npz")
    located = locate(dataset, data_dirs(tmp_path / "elsewhere"))
    assert located.verified and located.paths()["pneumoniamnist.npz"].parent == home


def test_missing_file_says_what_to_put_where(tmp_path, make_host):
    host = make_host()
    with pytest.raises(DataFileError) as caught:
        plan_run(RunSpec("dcgan", "synthesis", "pneumoniamnist-64", "tiny"), host.registries,
                 tmp_path / "runs", data_dir=tmp_path / "data")
    message = str(caught.value)
    entry = medmnist_info()[0]["pneumoniamnist"]
    assert entry["url_64"] in message
    assert str(tmp_path / "data" / "medmnist" / "pneumoniamnist_64.npz") in message
    assert "medbench datasets fetch pneumoniamnist-64" in message and "\n" not in message
    assert not (tmp_path / "runs").exists()  # refused before any run folder


def test_missing_file_through_the_cli_is_one_line(tmp_path, make_host, cli):
    result = cli(["run", "-m", "dcgan", "-t", "synthesis", "--dataset", "breastmnist-128",
                  "--budget", "tiny", "--data-dir", str(tmp_path), "--out",
                  str(tmp_path / "runs")], host=make_host())
    assert result.exit_code == 1
    assert result.output.count("Error:") == 1 and "Traceback" not in result.output
    assert "breastmnist_128.npz" in result.output


def test_checksum_mismatch_refused_then_allowed_and_marked(tmp_path, make_host, pneumonia):
    data, good = pneumonia
    bad = small_medmnist("pneumoniamnist", 28, COUNTS, "md5:" + "0" * 32)
    host = make_host(DatasetsPlugin(bad))
    spec = RunSpec("gaussian", "synthesis", bad.name, "tiny",
                   metrics=["fd_randcnn"])
    with pytest.raises(DataFileError, match="--allow-unverified"):
        plan_run(spec, host.registries, tmp_path / "runs", data_dir=data)
    plan = plan_run(RunSpec(**{**spec.to_dict(), "allow_unverified": True}), host.registries,
                    tmp_path / "runs", data_dir=data)
    record = execute(plan, SilentProgress()).record
    assert record.status.state == "ok", record.status.reason
    assert record.dataset.verified is False
    assert record.dataset.source_files["pneumoniamnist.npz"]["verified"] is False
    assert "--allow-unverified" in record.config.command
    plain = json.loads(record.to_json())
    assert row_label(plain) == "gaussian (unverified)"
    board = build_leaderboards([plain], {"synthesis": "fd_randcnn"})[0]
    assert any("failed their published checksum" in note for note in board.notes)


def test_verified_run_records_licence_citation_files_and_preprocessing(
        tmp_path, make_host, pneumonia):
    data, dataset = pneumonia
    host = make_host(DatasetsPlugin(dataset))
    plan = plan_run(RunSpec("acgan", "synthesis", dataset.name, "tiny",
                            overrides={"batch_size": "16"},
                            metrics=["fd_randcnn", "downstream_gain"]), host.registries,
                    tmp_path / "runs", data_dir=data)
    record = execute(plan, SilentProgress()).record
    assert record.status.state == "ok", record.status.reason
    gain = record.metrics["downstream_gain"]
    assert gain.status == "ok" and gain.value is not None  # the dataset's own two classes
    info = record.dataset
    assert info.verified and info.licence == "CC BY 4.0" and "MedMNIST v2" in info.citation
    assert info.preprocessing == "1" and not info.noncommercial
    assert info.splits["train"].size == COUNTS["train"]
    assert info.source_files["pneumoniamnist.npz"]["actual"] == dataset.data_files()[0].checksum
    anomaly = plan_run(RunSpec("autoencoder", "anomaly", dataset.name, "tiny",
                               overrides={"batch_size": "4"}, metrics=["image_auroc"]),
                       host.registries, tmp_path / "runs", data_dir=data)
    record = execute(anomaly, SilentProgress()).record
    assert record.status.state == "ok", record.status.reason
    assert record.training.fit_data["train"]["size"] == COUNTS["train"] // 2  # normal only


def test_noncommercial_licence_is_flagged_on_leaderboards(tmp_path, make_host):
    counts = {"train": 14, "val": 7, "test": 14}
    md5 = write_medmnist_npz(tmp_path / "data" / "medmnist" / "dermamnist.npz", "dermamnist",
                             28, counts)
    derma = small_medmnist("dermamnist", 28, counts, md5)
    assert derma.noncommercial and derma.licence == "CC BY-NC 4.0"
    host = make_host(DatasetsPlugin(derma))
    plan = plan_run(RunSpec("gaussian", "synthesis", derma.name, "tiny",
                            metrics=["fd_randcnn"]), host.registries, tmp_path / "runs",
                    data_dir=tmp_path / "data")
    record = json.loads(execute(plan, SilentProgress()).record.to_json())
    assert record["dataset"]["noncommercial"] is True
    board = build_leaderboards([record], {"synthesis": "fd_randcnn"})[0]
    assert any("non-commercial licence (CC BY-NC 4.0)" in note for note in board.notes)


def test_checksums_are_remembered_until_the_file_changes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    cache = ChecksumCache(tmp_path / "sums.json")
    assert cache.digest(path, "md5") == "md5:" + hashlib.md5(b"abc").hexdigest()
    assert json.loads((tmp_path / "sums.json").read_text())  # kept for the next process
    path.write_bytes(b"abcd")  # new size (and mtime): hashed again, never the stale digest
    fresh = ChecksumCache(tmp_path / "sums.json")
    assert fresh.digest(path, "sha256") == "sha256:" + hashlib.sha256(b"abcd").hexdigest()
    assert fresh.digest(path, "md5") == "md5:" + hashlib.md5(b"abcd").hexdigest()
    (tmp_path / "sums.json").write_text("{not json")  # damaged: hashes again, no error
    assert ChecksumCache(tmp_path / "sums.json").digest(path, "md5").startswith("md5:")


def test_an_edited_file_gets_its_own_decoded_cache(tmp_path, make_host, pneumonia):
    data, dataset = pneumonia
    before = locate(dataset, [data]).key()
    write_medmnist_npz(data / "medmnist" / "pneumoniamnist.npz", "pneumoniamnist", 28, COUNTS,
                       seed=1)
    after = locate(dataset, [data])
    assert after.key() != before and not after.verified
    with pytest.raises(DataFileError, match="has md5:"):
        require(dataset, after, allow_unverified=False)


# --- fetch --------------------------------------------------------------------------------

def _served(tmp_path, server, flag="pneumoniamnist"):
    base, handler = server
    source = tmp_path / "published" / "pneumoniamnist.npz"
    md5 = write_medmnist_npz(source, flag, 28, COUNTS)
    handler.payload = source.read_bytes()
    dataset = small_medmnist(flag, 28, COUNTS, md5)
    dataset.entry["url"] = f"{base}/pneumoniamnist.npz"
    return dataset, handler


def test_fetch_downloads_verifies_and_moves_into_place(tmp_path, server):
    dataset, handler = _served(tmp_path, server)
    done = fetch_dataset(dataset, SilentProgress(), tmp_path / "data")
    target = tmp_path / "data" / "medmnist" / "pneumoniamnist.npz"
    assert [(f.action, f.path) for f in done] == [("downloaded", target)]
    assert target.read_bytes() == handler.payload
    assert not target.with_name("pneumoniamnist.npz.part").exists()
    again = fetch_dataset(dataset, SilentProgress(), tmp_path / "data")
    assert again[0].action == "already present" and len(handler.requests) == 1


def test_fetch_resumes_a_partial_download(tmp_path, server):
    dataset, handler = _served(tmp_path, server)
    partial = tmp_path / "data" / "medmnist" / "pneumoniamnist.npz.part"
    partial.parent.mkdir(parents=True)
    half = len(handler.payload) // 2
    partial.write_bytes(handler.payload[:half])
    done = fetch_dataset(dataset, SilentProgress(), tmp_path / "data")
    assert done[0].action == "resumed"
    assert handler.requests == [f"bytes={half}-"]
    assert done[0].path.read_bytes() == handler.payload


def test_a_corrupted_download_is_deleted_and_never_put_in_place(tmp_path, server):
    dataset, handler = _served(tmp_path, server)
    handler.payload = handler.payload[:-10] + b"0123456789"
    with pytest.raises(DataFileError, match="not the published md5:"):
        fetch_dataset(dataset, SilentProgress(), tmp_path / "data")
    folder = tmp_path / "data" / "medmnist"
    assert list(folder.iterdir()) == []


def test_fetch_offline_says_what_to_put_where(tmp_path, monkeypatch, pneumonia):
    _, dataset = pneumonia
    with pytest.raises(Offline) as caught:  # MEDBENCH_OFFLINE=1 in every test
        fetch_dataset(dataset, SilentProgress(), tmp_path / "elsewhere")
    target = tmp_path / "elsewhere" / "medmnist" / "pneumoniamnist.npz"
    assert str(target) in str(caught.value) and dataset.entry["url"] in str(caught.value)
    monkeypatch.delenv("MEDBENCH_OFFLINE")
    dataset.entry["url"] = "http://127.0.0.1:9/pneumoniamnist.npz"  # nothing listens there
    with pytest.raises(Offline, match="No network"):
        fetch_dataset(dataset, SilentProgress(), tmp_path / "elsewhere")


def test_fetch_and_status_cli(tmp_path, make_host, cli, pneumonia):
    data, dataset = pneumonia
    wrong = small_medmnist("breastmnist", 28, COUNTS, "md5:" + "1" * 32)
    (data / "medmnist" / "breastmnist.npz").write_bytes(b"not an npz")
    host = make_host(DatasetsPlugin(dataset, wrong))
    status = cli(["datasets", "status", dataset.name, wrong.name, "pneumoniamnist-64",
                  "phantom", "--data-dir", str(data)], host=host)
    assert status.exit_code == 0, status.output
    rows = [line.split("\t") for line in status.output.strip().splitlines()]
    assert [row[:3] for row in rows] == [
        [dataset.name, "present", "CC BY 4.0"], [wrong.name, "checksum mismatch", "CC BY 4.0"],
        ["pneumoniamnist-64", "missing", "CC BY 4.0"],
        ["phantom", "generated", "MIT (generated by medbench's code; no patient data)"]]
    offline = cli(["datasets", "fetch", "pneumoniamnist", "--size", "128", "--data-dir",
                   str(data)], host=host)
    assert offline.exit_code == 1 and offline.output.count("Error:") == 1
    assert "pneumoniamnist_128.npz" in offline.output
    unknown_size = cli(["datasets", "fetch", "pneumoniamnist", "--size", "100"], host=host)
    assert unknown_size.exit_code == 1 and "28, 64, 128, 224" in unknown_size.output
    present = cli(["datasets", "fetch", dataset.name, "--data-dir", str(data)], host=host)
    assert present.exit_code == 0 and "already present" in present.output


def test_medmnist_reads_everything_from_the_info_table(make_host):
    registries = make_host().registries
    info = medmnist_info()[0]
    flags = [flag for flag in info if not flag.endswith("3d")]
    assert len(flags) == 12
    for flag in flags:
        for size, suffix in ((28, ""), (64, "_64"), (128, "_128"), (224, "_224")):
            dataset = registries.datasets.get(f"{flag}-{size}")
            (file,) = dataset.data_files()
            assert file.url == info[flag][f"url{suffix}"]
            assert file.checksum == "md5:" + info[flag][f"MD5{suffix}"]
            assert {s: m.size for s, m in dataset.manifest().items()} == info[flag]["n_samples"]
            assert dataset.field("image").channels == info[flag]["n_channels"]
            assert dataset.licence == info[flag]["license"]
    names = {flag: registries.datasets.get(f"{flag}-64").normal_class for flag in flags}
    assert names["pneumoniamnist"] == "normal" and names["octmnist"] == "normal"
    assert names["breastmnist"] == "normal, benign" and names["chestmnist"] == "no finding"
    assert names["pathmnist"] is None  # no class means "no abnormality"


def test_unofficial_splits_keys_and_truncated_files_are_caught(tmp_path, pneumonia):
    data, dataset = pneumonia
    path = data / "medmnist" / "pneumoniamnist.npz"
    cache = tmp_path / "decoded"
    assert {s: len(a) for s, a in dataset.decode({path.name: path}, cache).items()} == COUNTS
    with np.load(path) as npz:
        arrays = dict(npz)
    resplit = {**arrays, "train_images": arrays["train_images"][:-4],
               "train_labels": arrays["train_labels"][:-4],
               "test_images": np.concatenate([arrays["test_images"],
                                              arrays["train_images"][-4:]]),
               "test_labels": np.concatenate([arrays["test_labels"],
                                              arrays["train_labels"][-4:]])}
    cases = {
        "resplit": (resplit, "the official split is"),
        "keys": ({**arrays, "extra": np.zeros(1)}, "keys"),
        "dtype": ({**arrays, "val_images": arrays["val_images"].astype(np.float32)}, "dtypes"),
        "labels": ({**arrays, "val_labels": arrays["val_labels"] + 5}, "highest class"),
    }
    for name, (content, words) in cases.items():
        other = tmp_path / name / "pneumoniamnist.npz"
        other.parent.mkdir()
        np.savez(other, **content)
        with pytest.raises(DataFileError, match=words):
            dataset.decode({other.name: other}, tmp_path / name / "cache")
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataFileError, match="truncated or damaged"):
        dataset.decode({path.name: truncated}, tmp_path / "cache-t")


def test_truncated_file_run_is_a_one_line_error(tmp_path, make_host, cli, pneumonia):
    data, dataset = pneumonia
    path = data / "medmnist" / "pneumoniamnist.npz"
    path.write_bytes(path.read_bytes()[:5000])
    result = cli(["run", "-m", "gaussian", "-t", "synthesis", "--dataset", dataset.name,
                  "--budget", "tiny", "--data-dir", str(data), "--allow-unverified",
                  "--metrics", "fd_randcnn", "--out", str(tmp_path / "runs")],
                 host=make_host(DatasetsPlugin(dataset)))
    assert result.exit_code != 0
    assert "truncated or damaged" in result.output and "Traceback" not in result.output


def test_chestmnist_multilabel_is_explicit(tmp_path):
    counts = {"train": 30, "val": 10, "test": 10}
    path = tmp_path / "chestmnist.npz"
    md5 = write_medmnist_npz(path, "chestmnist", 28, counts)
    chest = small_medmnist("chestmnist", 28, counts, md5)
    assert chest.class_names == ("no finding", "finding")
    assert chest.field("findings").kind == "scalar"
    splits = chest.decode({path.name: path}, tmp_path / "cache")
    with np.load(path) as npz:
        labels = npz["train_labels"]
    assert (splits["train"]["label"] == labels.any(axis=1)).all()
    assert (splits["train"]["findings"] == labels).all() and labels.shape[1] == 14


def test_colour_medmnist_is_stored_channels_first(tmp_path):
    counts = {"train": 9, "val": 9, "test": 9}
    path = tmp_path / "bloodmnist_64.npz"
    md5 = write_medmnist_npz(path, "bloodmnist", 64, counts)
    blood = small_medmnist("bloodmnist", 64, counts, md5)
    splits = blood.decode({path.name: path}, tmp_path / "cache")
    with np.load(path) as npz:
        published = npz["val_images"]
    assert splits["val"]["image"].shape == (9, 3, 64, 64)
    assert (splits["val"]["image"] == published.transpose(0, 3, 1, 2)).all()


def test_the_medmnist_sweep_file_names_registered_things(make_host):
    from medbench.run.sweep import read_sweep_file

    settings = read_sweep_file(Path(__file__).parents[1] / "leaderboards" / "medmnist.toml")
    registries = make_host().registries
    assert len(settings["datasets"]) == 12
    for dataset in settings["datasets"]:
        assert registries.datasets.get(dataset).native_size == 64
    for method in settings["methods"]:
        registries.methods.get(method)
    with_normal = [d for d in settings["datasets"]
                   if registries.datasets.get(d).normal_class is not None]
    assert sorted(with_normal) == ["breastmnist-64", "chestmnist-64", "octmnist-64",
                                   "pneumoniamnist-64", "retinamnist-64"]


def test_a_file_dataset_with_bad_declarations_is_refused_and_named(make_host):
    from medbench.api import DataFile

    class Sloppy(type(small_medmnist("pneumoniamnist", 28, COUNTS, "md5:" + "0" * 32))):
        def data_files(self):
            return (DataFile("../outside.npz", "md5:xyz"),)

    sloppy = Sloppy("pneumoniamnist", 28)
    sloppy.name = "sloppy"
    host = make_host(DatasetsPlugin(sloppy))
    problems = " ".join(str(problem) for problem in host.errors())
    assert "not a plain relative path" in problems and "use 'md5:<32 hex>'" in problems
    assert "neither a url nor a how_to_get" in problems
    assert "sloppy" not in host.registries.datasets
