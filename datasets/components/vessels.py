"""A procedural retinal vessel tree grown from the optic disc.

Eight trunks leave the disc (an artery and a vein for each of the superior and inferior,
temporal and nasal quadrants). Each trunk walks outward with a smoothly wandering heading;
the temporal ones arc around the macula as real arcades do. A branch bifurcates every few
steps: the parent's width splits by Murray's law (w^3 = w1^3 + w2^3), and the thinner child
leaves at a wider angle. Branches stop when they become thinner than a pixel or leave the
field of view. Coordinates are on [-1, 1] with the image's row 0 at y = -1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ARTERY, VEIN = 0, 1
FOV_RADIUS = 0.94  # the camera's circular aperture
STEP = 0.045  # walk step (normalised units)
MIN_WIDTH = 0.016
MAX_SEGMENTS = 1500


@dataclass(frozen=True)
class Tree:
    """Line segments (x0, y0, x1, y1, width, kind) of one eye's vessels."""

    segments: np.ndarray  # (S, 6) float64
    disc: tuple[float, float]  # optic disc centre
    macula: tuple[float, float]


def grow_tree(rng: np.random.Generator) -> Tree:
    side = rng.choice([-1.0, 1.0])  # right or left eye: the disc is nasal, the macula temporal
    disc = (side * rng.uniform(0.30, 0.40), rng.uniform(-0.06, 0.06))
    temporal = -side
    macula = (disc[0] + temporal * rng.uniform(0.55, 0.65), disc[1] + rng.uniform(0.0, 0.08))
    temporal_heading = 0.0 if temporal > 0 else np.pi
    segments: list[tuple[float, ...]] = []
    stack = []
    for kind, width in ((ARTERY, rng.uniform(0.036, 0.044)), (VEIN, rng.uniform(0.048, 0.058))):
        for vertical in (-1.0, 1.0):
            # Temporal arcades leave steeply and turn towards the temporal side around the
            # macula; nasal trunks are thinner and head outwards at a shallow angle.
            heading = np.arctan2(vertical * rng.uniform(0.8, 1.2), temporal * 0.3)
            stack.append((disc[0], disc[1], heading, width, temporal_heading, 0.10, kind))
            heading = np.arctan2(vertical * rng.uniform(0.3, 0.8), -temporal)
            stack.append((disc[0], disc[1], heading, width * 0.75, heading, 0.05, kind))
    while stack and len(segments) < MAX_SEGMENTS:
        x, y, heading, width, target, pull, kind = stack.pop()
        since_split = 0
        while width >= MIN_WIDTH and x * x + y * y < FOV_RADIUS**2:
            # Steer gently towards the branch's target direction, with a little wander.
            heading += pull * np.sin(target - heading) + rng.normal(0.0, 0.10)
            nx, ny = x + STEP * np.cos(heading), y + STEP * np.sin(heading)
            segments.append((x, y, nx, ny, width, kind))
            x, y = nx, ny
            width *= 0.98  # slow taper along a branch
            since_split += 1
            if since_split >= 3 and rng.random() < 0.16:
                since_split = 0
                thin = width * rng.uniform(0.55, 0.8)
                width = (width**3 - thin**3) ** (1 / 3)  # Murray's law
                turn = rng.choice([-1.0, 1.0])
                child = heading + turn * rng.uniform(0.6, 1.0)
                outward = np.arctan2(y - disc[1], x - disc[0])  # children drift away from the disc
                stack.append((x, y, child, thin, outward, 0.06, kind))
                heading -= turn * rng.uniform(0.1, 0.25)
    return Tree(np.asarray(segments, dtype=np.float64).reshape(-1, 6), disc, macula)


def rasterise(tree: Tree, size: int) -> np.ndarray:
    """(2, size, size) float fractions of each pixel covered by arteries and by veins.

    Each segment is a capsule of its width; coverage is a logistic ramp of the distance to
    its edge, one pixel wide, which anti-aliases thin vessels.
    """
    pixel = 2.0 / size
    centres = (np.arange(size) + 0.5) * pixel - 1  # pixel centres on [-1, 1]
    nearest_edge = np.full((2, size, size), np.inf)
    # Each segment only reaches pixels near it: work in its bounding box, a few pixels wide.
    for x0, y0, x1, y1, width, kind in tree.segments:
        reach = width / 2 + 4 * pixel
        cols = slice(*np.searchsorted(centres, [min(x0, x1) - reach, max(x0, x1) + reach]))
        rows = slice(*np.searchsorted(centres, [min(y0, y1) - reach, max(y0, y1) + reach]))
        py, px = np.meshgrid(centres[rows], centres[cols], indexing="ij")
        dx, dy = x1 - x0, y1 - y0
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / max(dx * dx + dy * dy, 1e-12), 0, 1)
        edge = np.hypot(px - x0 - t * dx, py - y0 - t * dy) - width / 2
        window = nearest_edge[int(kind), rows, cols]
        np.minimum(window, edge, out=window)
    # Coverage is monotonic in the distance to the nearest edge: one logistic per pixel.
    return 1.0 / (1.0 + np.exp(np.clip(nearest_edge / (0.25 * pixel), -30, 30)))
