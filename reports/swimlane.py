"""A sequence diagram of a trace: one lane per process plus the world, steps in schedule order.

Each step is an arrow from the acting process's lane to the world lane, labelled with the op, and
the result written back beside the world lane. Environment steps (arrivals, ticks, crashes) are
markers on the lane they concern. The violating step (the last one) is drawn in red.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; deterministic raster backend
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from model import ops as O
from model.ops import describe
from simulator.system import Arrive, Crash, Step

WORLD = "world"
VIOLATION = "#c62828"
PROCESS = "#1565c0"
ENVIRONMENT = "#6d6d6d"
MAX_LABEL = 46


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def lanes_of(steps: list[Step]) -> list[str]:
    """Process lanes in order of first appearance (requests before runs), then the world."""
    names: list[str] = []
    for step in steps:
        actor = step.actor
        if isinstance(step.op, (Arrive, Crash)):
            actor = step.op.actor
        if actor in ("env", WORLD) or actor in names:
            continue
        names.append(actor)
    names.sort(
        key=lambda n: (0 if n.startswith("req") else 1, int("".join(filter(str.isdigit, n)) or 0))
    )
    return [*names, WORLD]


def render_swimlane(steps: list[Step], title: str, paths: list[Path]) -> list[str]:
    """Draw the diagram to each path (.png/.svg by suffix). Returns the lane names."""
    lanes = lanes_of(steps)
    x = {name: i for i, name in enumerate(lanes)}
    width = max(7.0, 2.6 * len(lanes))
    height = max(3.0, 0.42 * len(steps) + 1.8)
    fig, ax = plt.subplots(figsize=(width, height), dpi=110)
    world_x = x[WORLD]
    bottom = len(steps) + 0.5
    for name, i in x.items():
        ax.plot([i, i], [0.2, bottom], color="#bdbdbd", lw=1.2, zorder=0)
        ax.text(
            i,
            0,
            name,
            ha="center",
            va="bottom",
            fontsize=10,
            fontweight="bold",
            bbox={
                "boxstyle": "round,pad=0.3",
                "fc": "#eef3fb" if name != WORLD else "#f3f3f3",
                "ec": "#9e9e9e",
            },
        )
    last = len(steps)
    for k, step in enumerate(steps, start=1):
        colour = VIOLATION if k == last else PROCESS
        y = k
        ax.text(-0.55, y, str(k), ha="right", va="center", fontsize=8, color="#616161")
        op = step.op
        if isinstance(op, Arrive):
            i = x[op.actor]
            ax.plot([i], [y], marker="v", color=ENVIRONMENT, ms=9)
            ax.text(
                i + 0.08, y, f"arrives t={step.result}", va="center", fontsize=8, color=ENVIRONMENT
            )
            continue
        if isinstance(op, Crash):
            i = x[op.actor]
            ax.plot([i], [y], marker="X", color=VIOLATION if k == last else ENVIRONMENT, ms=9)
            ax.text(i + 0.08, y, "crash, restart", va="center", fontsize=8, color=ENVIRONMENT)
            continue
        if isinstance(op, O.AdvanceClock):
            ax.plot([-0.3, world_x + 0.3], [y, y], color=ENVIRONMENT, lw=0.8, ls="--")
            ax.text(
                world_x + 0.32, y, f"t={step.result}", va="center", fontsize=8, color=ENVIRONMENT
            )
            continue
        actor_x = x.get(step.actor, world_x)
        label = _short(describe(op))
        result = _short(describe(step.result))
        if actor_x == world_x:  # a world-internal step
            ax.plot([world_x], [y], marker="s", color=colour, ms=7)
            ax.text(world_x + 0.08, y, f"{label} → {result}", va="center", fontsize=8, color=colour)
            continue
        ax.annotate(
            "",
            xy=(world_x - 0.04, y),
            xytext=(actor_x, y),
            arrowprops={"arrowstyle": "->", "color": colour, "lw": 2.0 if k == last else 1.2},
        )
        mid = (actor_x + world_x) / 2
        ax.text(
            mid,
            y - 0.12,
            label,
            ha="center",
            va="bottom",
            fontsize=8,
            color=colour,
            fontweight="bold" if k == last else "normal",
        )
        ax.text(world_x + 0.08, y, f"→ {result}", va="center", fontsize=8, color=colour)
    ax.set_xlim(-0.8, world_x + 1.6)
    ax.set_ylim(bottom + 0.3, -0.6)
    ax.axis("off")
    ax.set_title(title, fontsize=11, loc="left")
    legend = [
        Line2D([0], [0], color=PROCESS, lw=1.5, label="world call (→ result)"),
        Line2D([0], [0], color=VIOLATION, lw=2.0, label="step that violates the property"),
        Line2D([0], [0], marker="v", color=ENVIRONMENT, lw=0, label="request arrives"),
        Line2D([0], [0], color=ENVIRONMENT, lw=0.8, ls="--", label="clock tick"),
        Patch(fc="#f3f3f3", ec="#9e9e9e", label="world = the engine's storage"),
    ]
    ax.legend(
        handles=legend,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        fontsize=8,
        ncol=5,
        frameon=False,
    )
    fig.tight_layout()
    for path in paths:
        save_figure(fig, path)
    plt.close(fig)
    return lanes


def save_figure(fig, path: Path) -> None:
    """Save deterministically (no dates, fixed svg ids) and atomically (temp file, rename)."""
    import os
    import tempfile

    fmt = path.suffix.lstrip(".")
    metadata = {"Date": None} if fmt == "svg" else {}
    if fmt == "svg":
        metadata["Creator"] = None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".{fmt}")
    os.close(fd)
    try:
        with matplotlib.rc_context({"svg.hashsalt": "idemrace", "svg.fonttype": "path"}):
            fig.savefig(tmp, format=fmt, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
