"""Named compute budgets, so that methods are compared at matched compute."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from medbench.api.errors import ConfigError, PluginError
from medbench.api.task import Task
from medbench.record.spec import DEFAULT_BUDGET

__all__ = ["BUDGETS", "DEFAULT_BUDGET", "Budget", "get_budget"]


@dataclass(frozen=True)
class Budget:
    name: str
    image_size: int  # every spatial field is resized to this before a method sees it
    train_images: int  # training length, counted as images seen by the method
    eval_samples: int  # predictions a task asks for (synthesis: images drawn); not capped
    intended_for: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Sized from measured throughput on a 2-core CPU, where the default 32x32 DCGAN (width 32)
# trains ~420-470 img/s (benchmarks/throughput.py): `smoke` trains it in about a minute
# (40,000 images; cut from 60,000 so that the reference leaderboard, every method on every
# task with 3 seeds, fits in an hour there: leaderboards/README.md). `standard` and
# `highres` are meant for a GPU; what they cost there, and on what basis, is in
# docs/budgets.md (benchmarks/budget_cost.py). `highres` is the resolution PGGAN was
# designed for (the paper grows to 256 px and beyond, ~800k images per phase: 8.8 million
# from 8 px to 256 px; 6 million gives each of those 11 phases about 550k).
BUDGETS: dict[str, Budget] = {
    budget.name: budget
    for budget in (
        Budget("smoke", image_size=32, train_images=40_000, eval_samples=1500,
               intended_for="a laptop CPU in minutes; checks that everything works end to end"),
        Budget("standard", image_size=64, train_images=3_000_000, eval_samples=1500,
               intended_for="one GPU; the budget behind published leaderboards"),
        Budget("check", image_size=32, train_images=1024, eval_samples=200,
               intended_for="contract checks of a method in seconds (`medbench plugins "
                            "check`, medbench.testing); never a result"),
        Budget("highres", image_size=256, train_images=6_000_000, eval_samples=1500,
               intended_for="one large GPU; methods defined at 128-256 px (PGGAN), on "
                            "datasets built at 256 px or more"),
    )
}


def get_budget(name: str, task: Task | None = None) -> Budget:
    """The named budget, with the sizes `task` sets for it (`Task.budget_overrides`)."""
    if name not in BUDGETS:
        raise ConfigError(f"Unknown budget '{name}'. Available: {', '.join(BUDGETS)}.")
    budget = BUDGETS[name]
    overrides = task.budget_overrides.get(name, {}) if task is not None else {}
    sizes = {field.name for field in fields(Budget)} - {"name", "intended_for"}
    unknown = set(overrides) - sizes
    if unknown or not all(isinstance(value, int) and value > 0 for value in overrides.values()):
        allowed = ", ".join(sorted(sizes))
        raise PluginError(f"task '{task.name if task else ''}' overrides budget '{name}' with "
                          f"{overrides}; it may set positive integers for {allowed}")
    return replace(budget, **overrides)
