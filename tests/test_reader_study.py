"""Reader studies: a blinded page is created from real runs, answer files are checked, and
the scores match scikit-learn, SciPy and statsmodels; they reach the results store and the
leaderboard. The browser half (a scripted reader in chromium) is test_reader_study_browser.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import secrets
import stat
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, recall_score, roc_auc_score
from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss_kappa

from medbench.cli import app
from medbench.store import ResultStore
from medbench.study.answers import canonical
from medbench.study.page import ANSWERS_FORMAT
from medbench.study.statistics import fleiss_kappa

N = 24


@pytest.fixture
def study(runner, host, studied_runs: list[Path], tmp_path: Path) -> Path:
    out = tmp_path / "study"
    result = runner.invoke(app, ["reader-study", "create", *map(str, studied_runs), "--n",
                                 str(N), "--out", str(out)], obj=host)
    assert result.exit_code == 0, result.output
    return out


def answer_file(path: Path, key: dict, reader: str, choose, session: str | None = None,
                answered: int | None = None) -> Path:
    """An answer file exactly as the page writes one; `choose(image) -> (call, confidence)`."""
    session = session or secrets.token_hex(8)
    answers = [{"image": image["id"], "call": choose(image)[0],
                "confidence": choose(image)[1], "seconds": 1.5}
               for image in key["images"][:answered]]
    data = {"format": ANSWERS_FORMAT, "study": key["study"], "reader": reader,
            "session": session, "started_at": "2026-12-01T10:00:00Z",
            "finished_at": "2026-12-01T10:05:00Z", "answers": answers,
            "sha256": hashlib.sha256(canonical(key["study"], reader, session,
                                               answers).encode()).hexdigest()}
    path.write_text(json.dumps(data))
    return path


def png_chunks(data: bytes) -> list[str]:
    chunks, offset = [], 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        chunks.append(kind.decode())
        offset += 12 + length
    return chunks


def test_the_page_holds_the_images_and_nothing_of_the_key(study: Path,
                                                          studied_runs: list[Path]) -> None:
    page = (study / "reader" / "index.html").read_text()
    key = json.loads((study / "key.json").read_text())
    assert stat.S_IMODE((study / "key.json").stat().st_mode) == 0o600
    assert list((study / "reader").iterdir()) == [study / "reader" / "index.html"]
    payload = json.loads(re.search(r'<script id="study" type="application/json">(.*?)</script>',
                                   page, re.S).group(1))
    assert [image["id"] for image in payload["images"]] == [i["id"] for i in key["images"]]
    assert all(set(image) == {"id", "png", "width", "height"} for image in payload["images"])
    assert key["real"] == N // 2 and [r["images"] for r in key["runs"]] == [N // 4, N // 4]
    for secret in [*(run["run_id"] for run in key["runs"]), "gaussian", "dcgan", '"truth"',
                   str(studied_runs[0])]:
        assert secret not in page
    for image in payload["images"]:  # the same encoding whatever the source: no metadata
        assert png_chunks(base64.b64decode(image["png"])) == ["IHDR", "IDAT", "IEND"]
    assert "src=" not in page.replace('$("image").src', "")  # the page loads nothing


def test_answers_are_scored_as_the_reference_libraries_score_them(
        runner, study: Path, studied_runs: list[Path]) -> None:
    with ResultStore() as store:  # the runs' own records, as their runs stored them
        for folder in studied_runs:
            store.put(json.loads((folder / "record.json").read_text()))
    key = json.loads((study / "key.json").read_text())
    truth = {image["id"]: image["truth"] for image in key["images"]}
    rng = np.random.default_rng(0)
    guesses = {image["id"]: (str(rng.choice(["real", "synthetic"])), int(rng.integers(1, 6)))
               for image in key["images"]}
    files = [
        answer_file(study / "a.json", key, "expert", lambda i: (truth[i["id"]], 5)),
        answer_file(study / "b.json", key, "guesser", lambda i: guesses[i["id"]]),
        answer_file(study / "c.json", key, "contrarian",
                    lambda i: ("real" if truth[i["id"]] == "synthetic" else "synthetic", 3)),
    ]
    result = runner.invoke(app, ["reader-study", "score", str(study), *map(str, files)])
    assert result.exit_code == 0, result.output
    scores = json.loads((study / "scores.json").read_text())
    y = np.array([truth[i["id"]] == "synthetic" for i in key["images"]], dtype=int)
    calls = {}
    for name, path in (("expert", files[0]), ("guesser", files[1]), ("contrarian", files[2])):
        answers = {a["image"]: a for a in json.loads(path.read_text())["answers"]}
        called = np.array([answers[i["id"]]["call"] == "synthetic" for i in key["images"]],
                          dtype=int)
        signed = np.array([answers[i["id"]]["confidence"] * (1 if c else -1)
                           for i, c in zip(key["images"], called, strict=True)])
        calls[name] = called
        mine = scores["readers"][name]
        assert mine["accuracy"] == pytest.approx(accuracy_score(y, called), abs=1e-12)
        assert mine["sensitivity"] == pytest.approx(recall_score(y, called), abs=1e-12)
        assert mine["specificity"] == pytest.approx(recall_score(1 - y, 1 - called), abs=1e-12)
        assert mine["auc"] == pytest.approx(roc_auc_score(y, signed), abs=1e-12)
        assert mine["auc_ci95"][0] <= mine["auc"] <= mine["auc_ci95"][1]
        low, high = binomtest(int((called == y).sum()), len(y)).proportion_ci(method="wilson")
        assert mine["accuracy_ci95"] == pytest.approx([low, high], abs=1e-6)
    assert scores["readers"]["expert"]["auc"] == 1.0
    assert scores["readers"]["contrarian"]["auc"] == 0.0
    table = np.stack([sum(1 - c for c in calls.values()), sum(calls.values())], axis=1)
    assert scores["fleiss_kappa"] == pytest.approx(statsmodels_fleiss_kappa(table), abs=1e-12)
    low, high = scores["fleiss_kappa_ci95"]
    assert low <= scores["fleiss_kappa"] <= high

    with ResultStore() as store:
        derived = [r for r in store.records() if r["run_id"].endswith(key["study"][:8])]
    assert sorted(r["source_run"] for r in derived) == sorted(r["run_id"] for r in key["runs"])
    for record in derived:
        auc = record["metrics"]["reader_auc"]
        run_images = [i for i in key["images"] if i["run"] in (None, record["source_run"])]
        run_y = np.array([i["truth"] == "synthetic" for i in run_images], dtype=int)
        per_reader = []
        for path in files:
            answers = {a["image"]: a for a in json.loads(path.read_text())["answers"]}
            per_reader.append(roc_auc_score(run_y, [
                answers[i["id"]]["confidence"] * (1 if answers[i["id"]]["call"] == "synthetic"
                                                  else -1) for i in run_images]))
        assert auc["value"] == pytest.approx(np.mean(per_reader), abs=1e-12)
        assert auc["n_samples"] == {"readers": 3, "real": N // 2, "synthetic": N // 4}
        assert "bootstrap over images" in auc["details"]["ci95_method"]

    board = runner.invoke(app, ["leaderboard", "--format", "csv"])
    assert board.exit_code == 0, board.output
    table = pd.read_csv(io.StringIO(board.output))
    assert table["reader_auc_mean"].notna().all()  # a reader column beside the run's own
    assert table["fd_randcnn_mean"].notna().all()
    assert table["train_seconds"].notna().all()  # the row's compute is still the run's


@pytest.mark.parametrize("case, message", [
    ("other study", "not this one"),
    ("duplicate", "same reader session"),
    ("truncated", "not complete JSON"),
    ("edited", "was edited"),
    ("incomplete", "incomplete: 10 of 24"),
    ("not answers", "not a medbench reader-study answer file"),
])
def test_answer_files_that_cannot_be_trusted_are_refused_in_one_line(
        runner, study: Path, case: str, message: str) -> None:
    key = json.loads((study / "key.json").read_text())
    good = answer_file(study / "good.json", key, "one", lambda i: ("real", 3))
    files = [good]
    if case == "other study":
        files.append(answer_file(study / "x.json", {**key, "study": "f" * 32}, "two",
                                 lambda i: ("real", 3)))
    elif case == "duplicate":
        files.append(good)
    elif case == "truncated":
        bad = study / "x.json"
        bad.write_text(good.read_text()[:200])
        files.append(bad)
    elif case == "edited":
        data = json.loads(good.read_text())
        data["reader"], data["answers"][0]["call"] = "two", "synthetic"
        (study / "x.json").write_text(json.dumps(data))
        files.append(study / "x.json")
    elif case == "incomplete":
        files.append(answer_file(study / "x.json", key, "two", lambda i: ("real", 3),
                                 answered=10))
    else:
        (study / "x.json").write_text(json.dumps({"hello": 1}))
        files.append(study / "x.json")
    result = runner.invoke(app, ["reader-study", "score", str(study), *map(str, files)])
    assert result.exit_code != 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in result.output and "Traceback" not in result.output
    assert "nothing was scored or stored" in result.output
    assert not (study / "scores.json").exists() and not (study / "records").exists()
    with ResultStore() as store:
        assert not [r for r in store.records() if "+readers-" in r["run_id"]]


def test_create_refuses_bad_requests_in_one_line(runner, host, studied_runs: list[Path],
                                                 tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "something").write_text("x")
    cases = [
        (["--n", "1"], "--n must be at least 2"),
        (["--real-fraction", "1.5"], "--real-fraction must be between"),
        (["--out", str(taken)], "is not an empty folder"),
        (["--n", "500"], "the comparison set has"),
        (["--n", "5"], "at least 2 for its scores to have intervals"),
    ]
    for extra, message in cases:
        out = [] if "--out" in extra else ["--out", str(tmp_path / "new")]
        result = runner.invoke(app, ["reader-study", "create", *map(str, studied_runs), *out,
                                     *extra], obj=host)
        assert result.exit_code != 0 and message in result.output, (extra, result.output)
        assert "Traceback" not in result.output
    twice = runner.invoke(app, ["reader-study", "create", str(studied_runs[0]),
                                str(studied_runs[0]), "--out", str(tmp_path / "twice")], obj=host)
    assert twice.exit_code != 0 and "is given twice" in twice.output
    nothing = runner.invoke(app, ["reader-study", "create", str(tmp_path), "--out",
                                  str(tmp_path / "x")], obj=host)
    assert nothing.exit_code != 0 and "is not a run folder" in nothing.output


def test_fleiss_kappa_matches_statsmodels_on_more_categories() -> None:
    rng = np.random.default_rng(3)
    for _ in range(5):
        ratings = rng.integers(0, 3, size=(40, 4))
        table = np.stack([(ratings == c).sum(axis=1) for c in range(3)], axis=1)
        assert fleiss_kappa(table) == pytest.approx(statsmodels_fleiss_kappa(table), abs=1e-12)


def test_a_damaged_or_missing_key_is_refused_in_one_line(runner, study: Path,
                                                         tmp_path: Path) -> None:
    key = json.loads((study / "key.json").read_text())
    answers = answer_file(study / "a.json", key, "one", lambda i: ("real", 3))
    missing = runner.invoke(app, ["reader-study", "score", str(tmp_path), str(answers)])
    assert missing.exit_code != 0 and "has no key.json" in missing.output
    del key["records"]
    (study / "key.json").write_text(json.dumps(key))
    damaged = runner.invoke(app, ["reader-study", "score", str(study), str(answers)])
    assert damaged.exit_code != 0 and "is damaged" in damaged.output
    assert "Traceback" not in damaged.output and len(damaged.output.strip().splitlines()) == 1
