"""Reading the answer files a study's page downloads, and refusing any that cannot be
trusted: from another study, duplicated, truncated or edited. Every file is checked before
anything is scored or stored, and each problem is one line naming the file."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medbench.api.errors import ConfigError
from medbench.study.page import ANSWERS_FORMAT

CALLS = ("real", "synthetic")
MAX_ANSWER_BYTES = 8 * 2**20


@dataclass(frozen=True)
class ReaderAnswers:
    path: Path
    reader: str
    session: str
    calls: dict[str, tuple[str, int]]  # image id -> (call, confidence 1-5)
    seconds: dict[str, float]  # image id -> seconds spent on it
    finished_at: str | None  # when the reader answered the last image (the browser's clock)


def canonical(study: str, reader: str, session: str, answers: list[dict[str, Any]]) -> str:
    """What the page hashes: as page.py's `canonical`, byte for byte."""
    lines = [study, reader, session] + [f"{a['image']},{a['call']},{a['confidence']}"
                                        for a in answers]
    return "\n".join(lines)


def _fail(path: Path, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {problem}; nothing was scored or stored")


def read_answers(path: Path, key: dict[str, Any]) -> ReaderAnswers:
    """One answer file, checked against the study's key."""
    try:
        if path.stat().st_size > MAX_ANSWER_BYTES:
            raise _fail(path, "is larger than any answer file of a study")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(path, f"cannot be read ({exc.__class__.__name__})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise _fail(path, "is not complete JSON (truncated?); download the answers again "
                          "from the reader's browser") from None
    if not isinstance(data, dict) or data.get("format") != ANSWERS_FORMAT:
        raise _fail(path, "is not a medbench reader-study answer file")
    if data.get("study") != key["study"]:
        raise _fail(path, f"answers study {str(data.get('study'))[:12]}…, not this one "
                          f"({key['study'][:12]}…)")
    answers, reader, session = data.get("answers"), data.get("reader"), data.get("session")
    if not (isinstance(answers, list) and isinstance(reader, str) and reader.strip()
            and isinstance(session, str) and session):
        raise _fail(path, "lacks its reader, session or answers")
    well_formed = all(isinstance(a, dict) and isinstance(a.get("image"), str)
                      and a.get("call") in CALLS and type(a.get("confidence")) is int
                      and 1 <= a["confidence"] <= 5 for a in answers)
    if not well_formed or data.get("sha256") != hashlib.sha256(
            canonical(key["study"], reader, session, answers).encode()).hexdigest():
        raise _fail(path, "was edited after the page saved it (its answers do not match their "
                          "checksum); use the file as downloaded")
    known = [image["id"] for image in key["images"]]
    ids = [a["image"] for a in answers]
    if len(set(ids)) != len(ids):
        raise _fail(path, "answers an image twice")
    unknown = set(ids) - set(known)
    if unknown:
        raise _fail(path, f"answers {len(unknown)} image(s) this study does not have")
    if len(ids) < len(known):
        raise _fail(path, f"is incomplete: {len(ids)} of {len(known)} images answered; the "
                          f"reader can finish the study in the same browser")
    return ReaderAnswers(path, reader.strip(), session,
                         {a["image"]: (a["call"], a["confidence"]) for a in answers},
                         {a["image"]: float(a.get("seconds") or 0.0) for a in answers},
                         data.get("finished_at") if isinstance(data.get("finished_at"), str)
                         else None)


def read_all(paths: list[Path], key: dict[str, Any]) -> list[ReaderAnswers]:
    """Every file, checked, and checked against each other."""
    read = [read_answers(path, key) for path in paths]
    seen: dict[str, Path] = {}
    readers: dict[str, Path] = {}
    for answers in read:
        if answers.session in seen:
            raise _fail(answers.path, f"is the same reader session as {seen[answers.session]} "
                                      f"(a duplicate); give each file once")
        if answers.reader in readers:
            raise _fail(answers.path, f"is a second study by reader '{answers.reader}' (also "
                                      f"{readers[answers.reader]}); keep one per reader")
        seen[answers.session], readers[answers.reader] = answers.path, answers.path
    return read
