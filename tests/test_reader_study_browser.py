"""A scripted reader takes a whole study in a real browser (Debian's chromium): keyboard
answers, a reload midway that loses nothing, the answers downloaded, and scored. The
downloaded file's checksum is the page's own SHA-256, which `score` checks with hashlib.
Skipped without chromium, unless MEDBENCH_REQUIRE_BROWSER=1 (as in CI)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from medbench.cli import app

from support import browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def _wait(condition, seconds: float = 10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the page")


def test_a_reader_takes_the_whole_study_in_chromium(runner, host, tmp_path: Path,
                                                   studied_runs: list[Path]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    study = tmp_path / "study"
    created = runner.invoke(app, ["reader-study", "create", *map(str, studied_runs), "--n",
                                  "12", "--out", str(study)], obj=host)
    assert created.exit_code == 0, created.output
    key = json.loads((study / "key.json").read_text())
    truth = {image["id"]: image["truth"] for image in key["images"]}
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver = browser(downloads)
    try:
        driver.get((study / "reader" / "index.html").as_uri())
        driver.find_element(By.ID, "reader").send_keys("Dr Test")
        driver.find_element(By.ID, "start").click()

        def answer(count: int) -> None:
            for _ in range(count):
                shown = driver.execute_script(
                    "return STUDY.images[state.answers.length].id")
                keys = "s" if truth[shown] == "synthetic" else "r"
                ActionChains(driver).send_keys(keys).send_keys("4").perform()

        assert driver.find_element(By.ID, "progress").text == "Image 1 of 12"
        image = driver.find_element(By.ID, "image")
        assert image.get_attribute("naturalWidth") == str(key["runs"][0]["image_size"])
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "reader-study.png"))
        answer(5)
        ActionChains(driver).send_keys("u").perform()  # undo one: four answered
        assert driver.find_element(By.ID, "progress").text == "Image 5 of 12"
        driver.refresh()  # a reload resumes where the reader was
        assert _wait(lambda: driver.find_element(By.ID, "progress").text) == "Image 5 of 12"
        answer(8)
        _wait(lambda: driver.find_element(By.ID, "done").is_displayed())
        driver.find_element(By.ID, "download").click()
        saved = _wait(lambda: [p for p in downloads.glob("answers-*.json")
                               if not p.name.endswith(".crdownload")])
        errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
        driver.find_element(By.ID, "next-reader").click()  # the next reader, same browser
        driver.switch_to.alert.accept()
        assert driver.find_element(By.ID, "intro").is_displayed()
        driver.refresh()
        assert driver.find_element(By.ID, "intro").is_displayed()  # nothing of the first
    finally:
        driver.quit()
    answers = json.loads(saved[0].read_text())
    assert answers["reader"] == "Dr Test" and len(answers["answers"]) == 12
    scored = runner.invoke(app, ["reader-study", "score", str(study), str(saved[0])])
    assert scored.exit_code == 0, scored.output
    scores = json.loads((study / "scores.json").read_text())
    assert scores["readers"]["Dr Test"]["accuracy"] == 1.0  # it answered from the key
    assert scores["readers"]["Dr Test"]["auc"] == 1.0
