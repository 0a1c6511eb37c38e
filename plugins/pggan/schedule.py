"""The growth schedule, in images seen, fitted inside whatever budget the run has.

The paper fades each new resolution in over 800k images and then trains it for another
800k. medbench budgets are fixed in images, so the schedule is expressed in shares of the
run's budget: the first resolution trains for one phase, every later one fades in for one
phase and stabilises for one, and the final resolution's stable phase gets `final_share` of
the budget, since that is the resolution whose images are scored.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    level: int  # resolution index: 4 * 2**level pixels
    fading: bool  # the level's block is being faded in
    start: int  # images seen when the phase begins
    end: int  # images seen when it ends

    def alpha(self, images_seen: int) -> float:
        if not self.fading:
            return 1.0
        return min(1.0, max(0.0, (images_seen - self.start) / max(1, self.end - self.start)))


def growth_schedule(budget: int, first_level: int, last_level: int,
                    final_share: float) -> list[Phase]:
    kinds = [(first_level, False)] + [(level, fading) for level in
                                      range(first_level + 1, last_level + 1)
                                      for fading in (True, False)]
    if len(kinds) == 1:
        return [Phase(first_level, False, 0, budget)]
    early = budget * (1.0 - final_share) / (len(kinds) - 1)
    bounds = [round(early * index) for index in range(len(kinds))] + [budget]
    return [Phase(level, fading, bounds[index], bounds[index + 1])
            for index, (level, fading) in enumerate(kinds)]


def phase_at(schedule: list[Phase], images_seen: int) -> Phase:
    for phase in schedule:
        if images_seen < phase.end:
            return phase
    return schedule[-1]
