"""The record schema keeps its promise: every field of every record dataclass is commented."""

from __future__ import annotations

import ast
from pathlib import Path

import medbench.record.schema as schema
import medbench.record.spec as spec


def field_lines(path: Path) -> list[tuple[str, str, str]]:
    """(class, field, source line) for every annotated field of every dataclass."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    found.append((node.name, item.target.id, lines[item.end_lineno - 1]))
    return found


def test_every_record_field_carries_a_comment() -> None:
    fields = []
    for module in (schema, spec):
        fields += field_lines(Path(module.__file__))
    assert len(fields) > 50
    missing = [f"{cls}.{name}" for cls, name, line in fields if "#" not in line]
    assert missing == [], f"uncommented record fields: {missing}"


def test_the_records_loss_curve_is_the_log_thinned_to_means() -> None:
    from medbench.run.artifacts import thin_losses

    rows = [{"step": step, "images_seen": 64 * step, "loss_d": float(step % 2)}
            for step in range(1, 1001)]
    curve = thin_losses(rows, points=100)
    assert len(curve["loss_d"]) == 100 and curve["loss_d"][0] == 0.5  # 10 steps per point
    assert curve["images_seen"][-1] == 64 * 995.5
    rows[3]["loss_d"] = float("nan")
    assert thin_losses(rows, points=100)["loss_d"][0] is None  # JSON has no NaN
    assert thin_losses(rows[:7], points=100)["loss_d"] == [1, 0, 1, None, 1, 0, 1]
