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
