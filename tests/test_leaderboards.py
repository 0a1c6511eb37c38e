"""Leaderboards: seeds aggregated and intervals checked against direct computations, ranking
under each metric's direction, the paired test and Kendall's tau against scipy called
directly, the formats escaping what records contain, and the command's error paths."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from scipy import stats

from medbench.api import Leaderboard, Reporter, hookimpl
from medbench.cli import app
from medbench.report.leaderboards import Selection, build_leaderboards
from medbench.report.statistics import aggregate, versus_best
from medbench.store import ResultStore
from medbench.store.record_files import read_record_lines, write_record_lines

PRIMARY = {"toy-synthesis": "fd", "toy-anomaly": "auroc"}


def record(method: str, seed: int, metrics: dict[str, tuple[float | None, bool]], *,
           task: str = "toy-synthesis", state: str = "ok", reference: bool = False,
           created: int = 0, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """A complete result record (schema 2.3) whose values the tests choose where tables read
    them."""
    return {
        "schema_version": "2.3", "run_id": f"{method}-{task}-{seed}-{created}",
        "created_at": f"2026-01-01T00:00:{created:02d}",
        "status": {"state": state, "reason": None if state == "ok" else "boom"},
        "task": {"name": task, "version": "1.0", "inputs": "SynthesisInputs"},
        "dataset": {"name": "toy", "version": "1.0.0", "image_size": 32,
                    "pixel_spacing_mm": None, "fields": {}, "splits": {}},
        "config": {"method": method, "task": task, "dataset": "toy", "budget": "smoke",
                   "seed": seed, "device": "cpu", "overrides": overrides or {},
                   "train_fraction": 1.0},
        "method": {"name": method, "reference": reference, "distribution": "medbench",
                   "version": "0.1.0", "plugin": "medbench", "protocol": "SynthesisMethod"},
        "budget": {"name": "smoke", "image_size": 32},
        "metrics": {name: {"value": value, "higher_is_better": higher, "units": "",
                           "range": [None, None], "implementation": "test",
                           "implementation_version": "1", "metric_version": "1",
                           "options": {}, "n_samples": {},
                           "status": "ok" if value is not None else "unavailable",
                           "reason": None if value is not None else "weights missing"}
                    for name, (value, higher) in metrics.items()},
        "timings": {"train_seconds": 10.0 + seed, "total_seconds": 12.0 + seed},
        "training": None,
        "environment": {"device": "cpu", "cpu_model": "Test CPU", "cpu_capability": "AVX2",
                        "torch_version": "2.14.1", "medbench_version": "0.1.0",
                        "python_version": "3.11", "platform": "test", "device_name": "cpu",
                        "cpu_threads": 2, "git_commit": None, "git_dirty": None,
                        "libraries": {}},
    }


def board_of(records: list[dict[str, Any]], task: str = "toy-synthesis") -> Leaderboard:
    (board,) = [b for b in build_leaderboards(records, PRIMARY) if b.task == task]
    return board


# --- aggregation and intervals -------------------------------------------------------------

# Student's t quantiles t(0.975, df) from a printed table (e.g. NIST/SEMATECH 1.3.6.7.2).
T_975 = {2: 4.303, 4: 2.776}


def test_mean_sd_and_interval_are_the_t_interval_of_the_mean() -> None:
    values = {0: 0.61, 1: 0.42, 2: 0.95, 3: 0.33, 4: 0.58}
    result = aggregate(values)
    data = np.array(list(values.values()))
    assert result.mean == pytest.approx(data.mean())
    assert result.sd == pytest.approx(data.std(ddof=1))
    assert result.n == 5
    half = T_975[4] * data.std(ddof=1) / np.sqrt(5)
    assert result.ci_low == pytest.approx(data.mean() - half, abs=1e-3)
    assert result.ci_high == pytest.approx(data.mean() + half, abs=1e-3)


def test_with_three_seeds_the_interval_is_wider_than_their_range_and_covers_95_percent() -> None:
    result = aggregate({0: 0.682, 1: 0.560, 2: 0.364})
    half = T_975[2] * np.std([0.682, 0.560, 0.364], ddof=1) / np.sqrt(3)
    assert (result.ci_low, result.ci_high) == pytest.approx(
        (result.mean - half, result.mean + half), abs=1e-3)
    assert result.ci_low < 0.364 and result.ci_high > 0.682  # the range covers ~75 %
    rng = np.random.default_rng(0)
    draws = rng.normal(1.0, 0.2, size=(4000, 3))
    covered = 0
    for row in draws:
        interval = aggregate(dict(enumerate(row)))
        covered += interval.ci_low <= 1.0 <= interval.ci_high
    assert 0.935 < covered / len(draws) < 0.965


def test_one_seed_has_no_spread_and_no_interval_and_equal_seeds_a_point() -> None:
    single = aggregate({7: 1.5})
    assert single.mean == 1.5 and np.isnan(single.sd) and np.isnan(single.ci_low)
    same = aggregate({0: 2.0, 1: 2.0, 2: 2.0})
    assert (same.sd, same.ci_low, same.ci_high) == (0.0, 2.0, 2.0)


def test_the_same_records_always_give_the_same_interval() -> None:
    values = {0: 0.3, 1: 0.9, 2: 0.5, 3: 0.1}
    assert aggregate(values) == aggregate(dict(reversed(list(values.items()))))


# --- ranking, references, the paired test --------------------------------------------------

def three_seeds(method: str, fd: list[float], auroc: list[float], **kwargs: Any,
                ) -> list[dict[str, Any]]:
    return [record(method, seed, {"fd": (fd[seed], False), "auroc": (auroc[seed], True)},
                   **kwargs) for seed in range(3)]


def test_ranking_follows_each_tasks_primary_metric_and_its_direction() -> None:
    fd = {"good": [0.5, 0.6, 0.55], "middle": [1.0, 1.3, 1.1], "bad": [4.0, 4.1, 3.9]}
    auroc = {"good": [0.6, 0.62, 0.61], "middle": [0.9, 0.93, 0.91], "bad": [0.7, 0.72, 0.7]}
    records = []
    for method in fd:
        records += three_seeds(method, fd[method], auroc[method])
        records += three_seeds(method, fd[method], auroc[method], task="toy-anomaly")
    records += three_seeds("copy", [0.01, 0.02, 0.01], [0.99, 0.99, 0.99], reference=True)

    synthesis = board_of(records)  # ranked by fd, lower is better
    assert [row.label for row in synthesis.ranked] == ["good", "middle", "bad"]
    assert [row.rank for row in synthesis.ranked] == [1, 2, 3]
    assert synthesis.columns[0].name == "fd" and not synthesis.columns[0].higher_is_better
    # The reference row would be best on both metrics, and is never ranked.
    assert [(row.label, row.rank) for row in synthesis.references] == [("copy", None)]

    anomaly = board_of(records, "toy-anomaly")  # ranked by auroc, higher is better
    assert [row.label for row in anomaly.ranked] == ["middle", "bad", "good"]
    assert anomaly.primary == "auroc" and anomaly.columns[0].higher_is_better


def test_the_paired_test_is_scipys_over_shared_seeds() -> None:
    best = {0: 0.50, 1: 0.60, 2: 0.55}
    close = {0: 0.52, 1: 0.57, 2: 0.58}
    far = {0: 1.50, 1: 1.65, 2: 1.52}
    for other in (close, far):
        expected = stats.ttest_rel(list(best.values()), list(other.values())).pvalue
        assert versus_best(best, other).p_value == pytest.approx(expected)
    one_shared = versus_best(best, {2: 9.0, 5: 1.0})
    assert (one_shared.shared_seeds, one_shared.p_value, one_shared.significant) == \
        (1, None, None)
    assert versus_best(best, {s: v + 1.0 for s, v in best.items()}).p_value == 0.0
    assert versus_best(best, dict(best)).p_value == 1.0


def test_comparisons_with_the_best_are_holm_corrected() -> None:
    """Against statsmodels' multipletests(method="holm") on these p-values, worked by hand:
    sorted 0.01, 0.02, 0.04 -> 0.03, 0.04, 0.04; untested ones are left out."""
    from medbench.api.leaderboard import Comparison
    from medbench.report.statistics import holm

    raw = [Comparison(3, 0.04, None), Comparison(3, 0.01, None), Comparison(1, None, None),
           Comparison(3, 0.02, None)]
    corrected = holm(raw)
    assert [c.p_holm for c in corrected] == pytest.approx([0.04, 0.03, None, 0.04])
    assert [c.significant for c in corrected] == [True, True, None, True]
    assert [c.p_value for c in corrected] == [0.04, 0.01, None, 0.02]  # raw p kept
    # Each significant alone (p < 0.05), neither after correcting for two tests.
    assert [c.significant for c in holm([Comparison(3, 0.03, None),
                                         Comparison(3, 0.026, None)])] == [False, False]


def test_rows_not_separated_from_the_best_are_marked() -> None:
    records = (three_seeds("best", [0.50, 0.60, 0.55], [0.5] * 3)
               + three_seeds("close", [0.52, 0.57, 0.58], [0.5] * 3)
               + three_seeds("far", [1.50, 1.65, 1.52], [0.5] * 3))
    board = board_of(records)
    marks = {row.label: row.tied_with_best for row in board.ranked}
    assert marks == {"best": True, "close": True, "far": False}
    # The CSV column says what the table says: "not separated" exactly where tied.
    frame = board.to_frame().set_index("method")
    from medbench.api import leaderboard_cells

    verdicts = {row[1]: row[2] for row in leaderboard_cells(board).rows}
    for label, tied in marks.items():
        assert bool(frame.loc[label, "tied_with_best"]) is tied
        assert verdicts[label].startswith("best" if label == "best" else
                                          "not separated" if tied else "worse")


def test_each_cell_keeps_its_seeds_in_the_csv_and_on_hover() -> None:
    from medbench.api import html_section

    board = board_of(three_seeds("m", [0.5, 0.625, 0.75], [0.5] * 3))
    frame = board.to_frame()
    assert frame.loc[0, "fd_per_seed"] == "0:0.5;1:0.625;2:0.75"
    assert 'title="seed 0: 0.5; seed 1: 0.625; seed 2: 0.75"' in html_section(board)


def test_a_later_run_with_other_metrics_adds_columns_instead_of_hiding_them() -> None:
    records = [record("m", 0, {"fd": (1.0, False), "gain": (0.1, True)}, created=1),
               record("m", 0, {"fd": (2.0, False)}, created=2)]  # newer, without the gain
    (row,) = board_of(records).rows
    assert row.metrics["fd"].per_seed == {0: 2.0}  # the newest record that has it
    assert row.metrics["gain"].per_seed == {0: 0.1}
    assert row.sources == {0: ("m-toy-synthesis-0-1", "m-toy-synthesis-0-2")}
    assert board_of(records).to_frame().loc[0, "run_ids"] == \
        "0:m-toy-synthesis-0-1+m-toy-synthesis-0-2"


def test_the_newest_ok_record_of_a_seed_counts_and_failures_count_apart() -> None:
    records = [
        record("m", 0, {"fd": (9.0, False)}, created=1),
        record("m", 0, {"fd": (1.0, False)}, created=2),  # a rerun of seed 0: this one counts
        record("m", 1, {"fd": (3.0, False)}, created=3),
        record("m", 2, {"fd": (None, False)}, state="failed", created=4),
        record("m", 3, {"fd": (5.0, False)}, state="interrupted", created=5),
    ]
    (row,) = board_of(records).rows
    assert row.metrics["fd"].per_seed == {0: 1.0, 1: 3.0}
    assert row.seeds == (0, 1) and row.failed == 1
    assert row.train_seconds == pytest.approx(10.5)
    assert row.devices == ("cpu (Test CPU, AVX2)",)


def test_runs_with_other_settings_are_rows_of_their_own_and_unavailable_metrics_noted() -> None:
    records = [record("m", 0, {"fd": (1.0, False), "fid": (None, False)}),
               record("m", 0, {"fd": (2.0, False), "fid": (None, False)},
                      overrides={"lr": "0.1"})]
    board = board_of(records)
    assert [row.label for row in board.rows] == ["m", "m (lr=0.1)"]
    assert [column.name for column in board.columns] == ["fd"]
    assert board.notes == ("fid: no value in any run (weights missing)",)


def test_values_marked_not_comparable_are_left_out_unless_asked_for() -> None:
    records = [record("m", seed, {"fd": (1.0 + seed, False), "fid": (10.0 + seed, False)})
               for seed in range(3)]
    records[2]["metrics"]["fid"].update(comparable=False, caveat="unofficial weights")
    board = board_of(records)
    assert board.rows[0].metrics["fid"].per_seed == {0: 10.0, 1: 11.0}
    assert "fid: 1 value(s) marked not comparable, left out (--include-incomparable keeps " \
           "them): unofficial weights" in board.notes
    (kept,) = build_leaderboards(records, PRIMARY, Selection(include_incomparable=True))
    assert kept.rows[0].metrics["fid"].per_seed == {0: 10.0, 1: 11.0, 2: 12.0}


def test_metric_agreement_is_kendalls_tau_with_directions_aligned() -> None:
    fd = [[0.1] * 3, [0.2] * 3, [0.3] * 3, [0.4] * 3]  # lower is better: a > b > c > d
    auroc = [[0.9] * 3, [0.8] * 3, [0.95] * 3, [0.7] * 3]  # higher is better: c > a > b > d
    records = []
    for index, name in enumerate("abcd"):
        records += three_seeds(name, fd[index], auroc[index])
    board = board_of(records)
    oriented_fd = [-0.1, -0.2, -0.3, -0.4]
    expected = stats.kendalltau(oriented_fd, [0.9, 0.8, 0.95, 0.7]).statistic
    assert board.agreement[("fd", "auroc")] == pytest.approx(expected)
    assert board.agreement[("fd", "fd")] == pytest.approx(1.0)
    assert board.agreement_methods == 4
    two = board_of(three_seeds("a", fd[0], auroc[0]) + three_seeds("b", fd[1], auroc[1]))
    assert two.agreement[("fd", "auroc")] is None  # two methods say nothing
    assert "τ needs 4" in two.agreement_reasons[("fd", "auroc")]


def test_kendalls_tau_dominated_by_ties_is_not_reported() -> None:
    from medbench.api import agreement_cells, legend

    records = []
    for index, name in enumerate("abcde"):  # auroc 0 for all but one method
        records += three_seeds(name, [0.1 * (index + 1)] * 3, [0.9 if index == 2 else 0.0] * 3)
    board = board_of(records)
    assert board.agreement[("fd", "auroc")] is None
    assert "ties" in board.agreement_reasons[("fd", "auroc")]
    cells = agreement_cells(board)
    assert cells is not None and "n/a" in cells.rows[0]
    assert any("n/a for" in line and "ties" in line for line in legend(board))


def test_a_metric_that_reverses_the_ranking_is_named_under_the_table() -> None:
    from medbench.api import legend

    records = []
    for index, name in enumerate("abcd"):  # fd: a > b > c > d; auroc: d > c > b > a
        records += three_seeds(name, [0.1 * (index + 1)] * 3, [0.5 + 0.1 * index] * 3)
    board = board_of(records)
    assert board.agreement[("fd", "auroc")] == pytest.approx(-1.0)
    assert "Metrics that do not rank the methods as fd does: auroc (τ = −1)." in legend(board)


# --- formats ---------------------------------------------------------------------------------

INJECTED = "<script>alert(1)</script>|x_y*"


def rendered(host, fmt: str, records: list[dict[str, Any]]) -> str:
    return host.registries.reporters.get(fmt).render(build_leaderboards(records, PRIMARY))


def test_every_format_shows_a_hostile_name_as_text(make_host) -> None:
    host = make_host()
    records = (three_seeds(INJECTED, [0.5, 0.6, 0.55], [0.5] * 3)
               + three_seeds("plain", [1.0, 1.1, 1.2], [0.5] * 3))
    markdown = rendered(host, "markdown", records)
    assert r"\<script\>alert(1)\</script\>\|x\_y\*" in markdown
    assert "<script>" not in markdown
    page = rendered(host, "html", records)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x_y*" in page and "<script>" not in page
    latex = rendered(host, "latex", records)
    assert r"\textless{}script\textgreater{}alert(1)\textless{}/script\textgreater{}|x\_y*" \
        in latex
    assert r"\toprule" in latex and r"\bottomrule" in latex
    rows = list(csv.DictReader(io.StringIO(rendered(host, "csv", records))))
    assert rows[0]["method"] == INJECTED and rows[0]["rank"] == "1"
    assert float(rows[0]["fd_mean"]) == pytest.approx(0.55)


class TsvReporter(Reporter):
    name: ClassVar[str] = "tsv"
    suffix: ClassVar[str] = "tsv"
    summary: ClassVar[str] = "tab-separated"

    def render(self, boards):
        return "".join(board.to_frame().to_csv(sep="\t", index=False) for board in boards)


class TsvPlugin:
    @hookimpl
    def register_reporters(self, register):
        register(TsvReporter())


def test_a_plugin_adds_a_format_that_the_command_uses(make_host, runner, tmp_path: Path,
                                                      monkeypatch) -> None:
    db = tmp_path / "results.sqlite"
    with ResultStore(db) as store:
        for item in three_seeds("m", [1.0, 1.1, 1.2], [0.5] * 3):
            store.put(item)
    host = make_host(TsvPlugin())
    result = runner.invoke(app, ["leaderboard", "--db", str(db), "--format", "tsv,markdown",
                                 "--out", str(tmp_path / "out")], obj=host)
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == ["toy-synthesis--toy--smoke.md", "toy-synthesis--toy--smoke.tsv"]
    assert "fd_mean" in (tmp_path / "out" / "toy-synthesis--toy--smoke.tsv").read_text()


def test_a_reporter_without_render_or_with_a_path_for_a_suffix_is_rejected(make_host) -> None:
    class Lazy(Reporter):
        name: ClassVar[str] = "lazy"
        suffix: ClassVar[str] = "txt"
        summary: ClassVar[str] = "renders nothing"

    class LazyPlugin:
        @hookimpl
        def register_reporters(self, register):
            register(Lazy())

    class Escaping(TsvReporter):
        name: ClassVar[str] = "escaping"
        suffix: ClassVar[str] = "../../x"

    class EscapingPlugin:
        @hookimpl
        def register_reporters(self, register):
            register(Escaping())

    host = make_host(LazyPlugin(), EscapingPlugin())
    assert "lazy" not in host.registries.reporters
    assert "escaping" not in host.registries.reporters
    problems = [str(problem) for problem in host.errors()]
    assert any("does not implement `render`" in problem for problem in problems)
    assert any("`suffix` '../../x' must be a file ending" in problem for problem in problems)


# --- the command's error paths ----------------------------------------------------------------

def test_no_matching_runs_fail_in_one_line(runner, host, tmp_path: Path) -> None:
    ResultStore(tmp_path / "empty.sqlite").close()
    result = runner.invoke(app, ["leaderboard", "--db", str(tmp_path / "empty.sqlite"),
                                 "--task", "synthesis"], obj=host)
    assert result.exit_code == 1
    assert "No finished runs for task synthesis" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_format_fails_in_one_line(runner, host, tmp_path: Path) -> None:
    result = runner.invoke(app, ["leaderboard", "--db", str(tmp_path / "db.sqlite"),
                                 "--format", "pdf"], obj=host)
    assert result.exit_code != 0 and "Unknown reporter 'pdf'" in result.output


def test_a_bad_records_file_fails_in_one_line_naming_the_line(runner, host,
                                                              tmp_path: Path) -> None:
    path = tmp_path / "records.jsonl"
    path.write_text('{"schema_version": "2.3"}\nnot json\n')
    result = runner.invoke(app, ["leaderboard", "--records", str(path)], obj=host)
    assert result.exit_code == 1 and "line 2 is not JSON" in result.output
    path.write_text('{"schema_version": "2.3"}\n')
    result = runner.invoke(app, ["leaderboard", "--records", str(path)], obj=host)
    assert result.exit_code == 1 and "record 1 is rejected: missing key(s)" in result.output


def test_record_lines_round_trip_byte_for_byte(tmp_path: Path) -> None:
    records = three_seeds("m", [1.0, 1.1, 1.2], [0.5] * 3)
    first, second = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    write_record_lines(first, records)
    write_record_lines(second, json.loads(json.dumps(records)))
    assert first.read_bytes() == second.read_bytes()  # no timestamp in the gzip header
    assert read_record_lines(first) == records


# --- the static site, without a browser (tests/test_report_browser.py loads it in one) -------

def test_the_site_escapes_names_and_reads_artifacts_only_inside_run_folders(
        tmp_path: Path) -> None:
    from medbench.report.site import build_site

    records = (three_seeds(INJECTED, [0.5, 0.6, 0.55], [0.5] * 3)
               + three_seeds("plain", [1.0, 1.1, 1.2], [0.5] * 3))
    runs = tmp_path / "runs"
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"not for the report")
    for item in records:
        item["artifacts"] = {"samples": "../../secret.png", "losses": "losses.csv"}
    records[0]["run_id"] = "../secret-run"
    (runs / records[3]["run_id"]).mkdir(parents=True)
    (runs / records[3]["run_id"] / "losses.csv").write_text(
        "step,images_seen,loss_d,loss_g\n10,640,1.2,0.9\n20,1280,1.1,1.0\n")
    boards = build_leaderboards(records, PRIMARY)
    pages = build_site(tmp_path / "site", boards, records, {"plain": "# Plain\n<b>raw</b>"},
                       runs)
    texts = {page.name: page.read_text(encoding="utf-8") for page in pages}
    assert all("<script" not in text for text in texts.values())
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in text for text in texts.values())
    assert "&lt;b&gt;raw&lt;/b&gt;" in texts["method-plain.html"]  # the card's raw HTML
    assets = sorted(path.name for path in (tmp_path / "site" / "assets").iterdir())
    assert "toy-synthesis--toy--smoke--plain-losses.png" in assets
    assert not any("samples" in name for name in assets)  # ../../secret.png never copied


def test_notes_say_what_is_missing_not_where_one_machine_looked() -> None:
    records = [record("m", 0, {"fd": (1.0, False), "fid": (None, False)})]
    records[0]["metrics"]["fid"]["reason"] = (
        "InceptionV3 FID weights not found at /root/.cache/torch/hub/checkpoints/pt.pth")
    (note,) = board_of(records).notes
    assert note == "fid: no value in any run (InceptionV3 FID weights not found at a local path)"


def test_a_table_of_many_metrics_is_split_in_html_to_fit_a_screen() -> None:
    from medbench.api import html_section
    from medbench.api.reporting import TABLE_COLUMNS, column_groups, leaderboard_cells

    metrics = {f"metric_{index:02d}": (float(index), True) for index in range(12)}
    board = board_of([record("m", seed, {"fd": (1.0 + seed, False), **metrics})
                      for seed in range(3)])
    cells = leaderboard_cells(board)
    groups = column_groups(cells, 4, TABLE_COLUMNS)
    assert len(groups) == 3  # 13 metrics + train s, device, version = 16 columns
    assert all(group.header[:4] == cells.header[:4] for group in groups)
    assert sorted({h for group in groups for h in group.header}) == sorted(cells.header)
    assert all(len(row) == len(group.header) == len(hint)
               for group in groups for row, hint in zip(group.rows, group.hints, strict=True))
    section = html_section(board)
    assert "Ranked methods (1 of 3)" in section and "Ranked methods (3 of 3)" in section
