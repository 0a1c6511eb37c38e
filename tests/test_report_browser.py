"""The HTML report in a real headless browser (Debian's chromium, driven by selenium).

A tiny sweep makes real records and run folders; one imported record carries a hostile
method name. Every page must load without a console error, show its tables and images,
and show the hostile name as text (no script element, no alert). A screenshot of a table
page is kept under test-artifacts/.

Without chromium and chromedriver the test is skipped, unless MEDBENCH_REQUIRE_BROWSER=1
(as in CI), where it fails instead.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest

from medbench.api import safe_slug
from medbench.cli import app
from medbench.store import ResultStore

from support import browser

HOSTILE = "<script>alert(1)</script>"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
@pytest.fixture
def report(runner, host, tmp_path: Path) -> Path:
    runs = tmp_path / "runs"
    sweep = runner.invoke(app, ["sweep", "--methods", "dcgan,gaussian,holdout", "--tasks",
                                "synthesis", "--datasets", "tiny-phantom", "--budget", "tiny",
                                "--seeds", "0,1", "--out", str(runs)], obj=host)
    assert sweep.exit_code == 0, sweep.output
    with ResultStore() as store:
        (dcgan,) = [r for r in store.records(method="dcgan") if r["config"]["seed"] == 0]
        hostile = copy.deepcopy(dcgan)  # as if imported from elsewhere
        hostile["method"]["name"] = hostile["config"]["method"] = HOSTILE
        hostile["created_at"] = "2000-01-01T00:00:00+00:00"
        store.put(hostile, origin="import")
    out = tmp_path / "site"
    result = runner.invoke(app, ["report", "--out", str(out), "--runs", str(runs)], obj=host)
    assert result.exit_code == 0, result.output
    return out


def test_every_page_loads_cleanly_in_chromium(report: Path) -> None:
    pages = sorted(report.glob("*.html"))
    names = {page.name for page in pages}
    assert "index.html" in names and "board-synthesis--tiny-phantom--tiny.html" in names
    assert len([name for name in names if name.startswith("method-")]) == 4
    hostile_page = report / f"method-{safe_slug(HOSTILE)}.html"
    assert hostile_page.is_file()
    driver = browser()
    try:
        for page in pages:
            driver.get(page.as_uri())
            errors = [entry for entry in driver.get_log("browser")
                      if entry["level"] in ("SEVERE", "WARNING")]
            assert errors == [], f"{page.name}: {errors}"
            assert driver.execute_script("return document.querySelectorAll('script').length") \
                == 0, page.name
            assert driver.execute_script("return document.querySelectorAll('table').length") \
                > 0 or page.name.startswith("method-"), page.name
            broken = driver.execute_script(
                "return Array.from(document.images)"
                ".filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
            assert broken == [], f"{page.name}: images that did not load: {broken}"
            overflowing = driver.execute_script(
                "return Array.from(document.querySelectorAll('table')).filter(t => "
                "t.getBoundingClientRect().right > "
                "t.parentElement.getBoundingClientRect().right + 1).length")
            assert overflowing == 0, f"{page.name}: {overflowing} table(s) wider than 1,280 px"
            if page.name.startswith("board-"):
                # the seed, compute and agreement figures, and one panel per row (3 methods,
                # the hostile one among them)
                assert driver.execute_script("return document.images.length") >= 6
                assert HOSTILE in driver.find_element("tag name", "body").text
                ARTIFACTS.mkdir(exist_ok=True)
                driver.save_screenshot(str(ARTIFACTS / "report-board.png"))
            if page == hostile_page:
                assert driver.title == f"Method {HOSTILE}"
                # dcgan's fixed-case panel, from the copied record itself
                sources = driver.execute_script(
                    "return Array.from(document.images).map(i => i.src)")
                assert any(source.endswith("-panel.png") for source in sources), sources
        assert (ARTIFACTS / "report-board.png").stat().st_size > 10_000
    finally:
        driver.quit()


def test_exported_records_carry_images_into_tables_and_a_report(runner, host, report: Path,
                                                                  tmp_path: Path) -> None:
    """No run folder needed: the panels and loss curves travel inside the records."""
    import base64

    runs = tmp_path / "runs"
    exported = tmp_path / "records.jsonl.gz"
    assert runner.invoke(app, ["results", "export", "--out", str(exported)],
                         obj=host).exit_code == 0
    shutil.rmtree(runs)
    tables = tmp_path / "tables"
    result = runner.invoke(app, ["leaderboard", "--records", str(exported), "--format",
                                 "markdown", "--out", str(tables)], obj=host)
    assert result.exit_code == 0, result.output
    markdown = (tables / "synthesis--tiny-phantom--tiny.md").read_text()
    for method in ("dcgan", "holdout", "gaussian", safe_slug(HOSTILE)):
        path = tables / "images" / "synthesis--tiny-phantom--tiny" / f"{method}.png"
        assert path.read_bytes().startswith(b"\x89PNG")
        assert f"](images/synthesis--tiny-phantom--tiny/{method}.png)" in markdown
    assert "What was measured:" in markdown and "synthetic phantom" in markdown
    site = tmp_path / "site"
    result = runner.invoke(app, ["report", "--records", str(exported), "--out", str(site),
                                 "--runs", str(tmp_path / "nowhere")], obj=host)
    assert result.exit_code == 0, result.output
    board = (site / "board-synthesis--tiny-phantom--tiny.html").read_text()
    assert board.count("-panel.png") == 4 and "downloads/records.jsonl.gz" in board
    assert "<script>" not in board
    assert (site / "downloads" / "synthesis--tiny-phantom--tiny.csv").is_file()
    method = (site / "method-dcgan.html").read_text()
    with ResultStore() as store:
        (record, _) = store.records(method="dcgan")
    assert "-panel.png" in method
    # a tiny run may log no step at all; where it logged, the curve is drawn from the record
    assert ("Training curves" in method) == bool(record["training"]["loss_curve"])
    panel = base64.b64decode(record["images"]["panel"]["png_base64"])
    assert panel.startswith(b"\x89PNG") and len(panel) < 256 * 1024
    assert "one row per class" in record["images"]["panel"]["caption"] or \
        "generated images" in record["images"]["panel"]["caption"]
