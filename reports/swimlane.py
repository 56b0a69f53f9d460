"""A sequence diagram of a trace: one lane per process plus the world, steps in schedule order.

Each step a process takes is an arrow from its lane to the world lane, labelled with what it asks
(a few words, ``reports.story.short``); what comes back is written beside the world lane.
Environment steps (arrivals, ticks, crashes) are markers on the lane they concern, world-internal
steps are squares on the world lane. The violating step (the last one: a counterexample ends in
the first violating state) is drawn in red on a shaded band.

With ``marks`` (``reports.causal``) every process is drawn in the colour of its request's key
(legend: one swatch a key), the steps that lead to the violation sit on an amber band and the
others are faded: the causal thread stands out of a crowd.

SVG ids, so tools (and the tests, and the HTML report's hover) can read the picture itself:
``lane-<name>`` on each lane header, ``step-<k>`` on an invisible band over each step's row (its
``<title>`` is the step in full, a browser's tooltip; ``swimlane-step-<k>`` once inlined in the
HTML page, whose ``#step-<k>`` anchor is the explorer's), ``causal-<k>`` on each causal band,
``key-<n>`` on the legend swatch of the n-th key.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; deterministic raster backend
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from model import ops as O
from reports.story import short
from simulator.system import Arrive, Crash, Step

WORLD = "world"
VIOLATION = "#c62828"
VIOLATION_BAND = "#ffebee"
CAUSAL_BAND = "#fff3d6"
FADED = 0.45  # alpha of the steps that are context, not cause
PROCESS = "#1565c0"
ENVIRONMENT = "#616161"
MAX_LABEL = 40
LANE_INCHES = 1.9  # one lane's width
ROW_INCHES = 0.42  # one step's height
DPI = 100
# fixed fonts and ids: the same trace gives the same bytes on every machine with this matplotlib
STYLE = {
    "font.family": "DejaVu Sans",
    "svg.hashsalt": "idemrace",
    "svg.fonttype": "none",  # text stays text: smaller, searchable, and quicker to write
    "path.simplify": True,
}


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def _clip(text: str, inches: float) -> str:
    """One line that fits ``inches`` at 9 pt (about 0.075 in a character)."""
    limit = max(20, int(inches / 0.075))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _actor(step: Step) -> str:
    """The lane a step belongs to: the process it concerns, or the world."""
    if isinstance(step.op, (Arrive, Crash)):
        return step.op.actor
    return WORLD if step.actor in ("env", WORLD) else step.actor


def _order(name: str) -> tuple[int, int, str]:
    digits = "".join(filter(str.isdigit, name))
    return (0 if name.startswith("req") else 1, int(digits or 0), name)


def lanes_of(steps: list[Step]) -> list[str]:
    """Process lanes (requests by number, then runs by number), then the world."""
    names = {_actor(step) for step in steps} - {WORLD}
    return [*sorted(names, key=_order), WORLD]


def role(name: str) -> str:
    if name == WORLD:
        return "the engine's storage"
    if name.startswith("req"):
        return "request: client / route"
    if name.startswith("r") and name[1:].isdigit():
        return "workflow run (body)"
    return "process"


def render_swimlane(
    steps: list[Step],
    title: str,
    paths: list[Path],
    violated: str | None = None,
    subtitle: str = "",
    marks=None,
    titles: list[str] | None = None,
) -> list[str]:
    """Draw the diagram to each path (.png/.svg by suffix). Returns the lane names. ``marks``:
    key colours and causal steps (``reports.causal.Marks``); ``titles``: one full description a
    step, the SVG's tooltips."""
    lanes = lanes_of(steps)
    keys = list(marks.colours) if marks is not None else []
    x = {name: i for i, name in enumerate(lanes)}
    world_x = x[WORLD]
    n = len(steps)
    left, right = -0.9, world_x + 3.3  # room for step numbers / for results beside the world
    top, bottom = -1.2, n + 0.7
    width = LANE_INCHES * (right - left)
    columns = 6 if width >= 13.5 else 3  # legend entries a row
    entries = 6 + (1 if marks is not None else 0) + len(keys)
    head, foot = 0.7, 0.45 + 0.3 * -(-entries // columns)  # inches for the title and the legend
    height = ROW_INCHES * (bottom - top) + head + foot
    with matplotlib.rc_context(STYLE):
        fig = plt.figure(figsize=(width, height), dpi=DPI)
        ax = fig.add_axes((0, foot / height, 1, 1 - (head + foot) / height))
        ax.set_xlim(left, right)
        ax.set_ylim(bottom, top)
        ax.axis("off")
        fig.text(0.01, 1 - 0.25 / height, title, fontsize=12, fontweight="bold", va="center")
        if subtitle:
            fig.text(0.01, 1 - 0.5 / height, _clip(subtitle, width), fontsize=9, va="center")
        for name, i in x.items():
            ax.plot([i, i], [-0.2, bottom - 0.2], color="#bdbdbd", lw=1.2, zorder=0)
            header = ax.text(
                i,
                -0.62,
                name,
                ha="center",
                va="bottom",
                fontsize=11,
                fontweight="bold",
                bbox={
                    "boxstyle": "round,pad=0.3",
                    "fc": _tint(marks.colour_of(name))
                    if marks and name != WORLD
                    else ("#eef3fb" if name != WORLD else "#eeeeee"),
                    "ec": marks.colour_of(name) if marks and name != WORLD else "#9e9e9e",
                },
            )
            header.set_gid(f"lane-{name}")
            ax.text(i, -0.55, role(name), ha="center", va="top", fontsize=8, color=ENVIRONMENT)
        for k, step in enumerate(steps, start=1):
            causal = marks is None or k in marks.causal
            colour = marks.colour_of(_actor_key_lane(step)) if marks is not None else PROCESS
            if marks is not None and causal and k != n:
                band = ax.axhspan(k - 0.45, k + 0.45, color=CAUSAL_BAND, zorder=-1, lw=0)
                band.set_gid(f"causal-{k}")
            _draw_step(ax, k, step, k == n, x, world_x, right, violated, colour, causal)
            # an invisible band over the whole row: the hover target and tooltip of the step
            hit = ax.axhspan(k - 0.5, k + 0.5, color="white", alpha=0, zorder=5, lw=0)
            hit.set_gid(f"step-{k}")
        legend = [
            Line2D([0], [0], color=PROCESS, lw=1.4, label="call to the world (result at right)"),
            Patch(fc=VIOLATION_BAND, ec=VIOLATION, label="the step that violates the property"),
            Line2D([0], [0], marker="v", color=ENVIRONMENT, lw=0, ms=8, label="request arrives"),
            Line2D([0], [0], marker="X", color=ENVIRONMENT, lw=0, ms=8, label="crash, restart"),
            Line2D([0], [0], color=ENVIRONMENT, lw=0.9, ls="--", label="clock tick"),
            Line2D([0], [0], marker="s", color=PROCESS, lw=0, ms=7, label="world-internal step"),
        ]
        if marks is not None:
            legend.insert(
                2,
                Patch(fc=CAUSAL_BAND, ec="#e0b050", label="a step leading to it (faded: context)"),
            )
            legend += [
                Patch(fc=marks.colours[key], ec="none", label=f"key {key!r}") for key in keys
            ]
        shown = fig.legend(
            handles=legend,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.1 / height),
            fontsize=9,
            ncol=columns,
            frameon=False,
        )
        handles = getattr(shown, "legend_handles", None) or shown.legendHandles
        for i, handle in enumerate(handles[len(legend) - len(keys) :]):
            handle.set_gid(f"key-{i + 1}")
        for path in paths:
            save_figure(fig, path)
            if path.suffix == ".svg" and titles:
                add_titles(path, {f"step-{k}": text for k, text in enumerate(titles, start=1)})
        plt.close(fig)
    return lanes


def _tint(colour: str, share: float = 0.18) -> str:
    """``colour`` mixed with white (a lane header's fill)."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * share):02x}" for c in rgb)


def _actor_key_lane(step: Step) -> str:
    """The lane whose key colours a step: the process it concerns; a world-internal step on a
    run (``release r1``) has that run's key."""
    lane = _actor(step)
    if lane == WORLD:
        run = getattr(step.op, "run_id", None)
        if isinstance(run, int):
            return f"r{run}"
    return lane


def add_titles(path: Path, titles: dict[str, str]) -> None:
    """Give SVG groups by id a ``<title>`` (a browser shows it as a tooltip), in place."""
    from html import escape

    from catalog.trace import write_atomic

    text = path.read_text()
    for gid, title in titles.items():
        opening = f'<g id="{gid}">'
        text = text.replace(opening, f"{opening}<title>{escape(title)}</title>", 1)
    write_atomic(path, text)


def _draw_step(
    ax, k: int, step: Step, last: bool, x, world_x, right, violated, key_colour, causal
) -> None:
    colour = VIOLATION if last else key_colour
    weight = "bold" if last else "normal"
    alpha = 1.0 if causal or last else FADED
    y = k
    _plot, _text = ax.plot, ax.text

    def plot(*args, **kw):  # every artist of a context step is faded alike
        return _plot(*args, alpha=alpha, **kw)

    def text(*args, **kw):
        return _text(*args, alpha=alpha, **kw)

    if last:
        ax.axhspan(y - 0.45, y + 0.45, color=VIOLATION_BAND, zorder=-1, lw=0)
        text(
            right - 0.05,
            y,
            f"violates {violated}" if violated else "violation",
            ha="right",
            va="center",
            fontsize=9,
            fontweight="bold",
            color=VIOLATION,
        )
    text(-0.6, y, str(k), ha="right", va="center", fontsize=9, color=ENVIRONMENT)
    op = step.op
    env = VIOLATION if last else ENVIRONMENT
    if isinstance(op, Arrive):
        i = x[op.actor]
        plot([i], [y], marker="v", color=env, ms=10)
        text(i + 0.1, y, f"arrives at t={step.result}", va="center", fontsize=9, color=env)
        return
    if isinstance(op, Crash):
        i = x[op.actor]
        plot([i], [y], marker="X", color=env, ms=10)
        text(
            i + 0.1,
            y,
            "crashes before its step is recorded; replays its log",
            va="center",
            fontsize=9,
            color=env,
        )
        return
    if isinstance(op, O.AdvanceClock):
        plot([-0.4, world_x + 0.05], [y, y], color=env, lw=0.9, ls="--")
        text(world_x + 0.12, y, f"clock: t={step.result}", va="center", fontsize=9, color=env)
        return
    label, result = (_short(s) for s in short(step))
    actor_x = x.get(step.actor, world_x)
    if actor_x == world_x:  # a world-internal step
        plot([world_x], [y], marker="s", color=colour, ms=8)
        said = f"{label}: {result}"
        text(world_x + 0.12, y, said, va="center", fontsize=9, color=colour, fontweight=weight)
        return
    # a plain line and a head marker: as clear as an arrow patch and far cheaper to draw
    plot([actor_x, world_x - 0.07], [y, y], color=colour, lw=2.2 if last else 1.3)
    plot([world_x - 0.07], [y], marker=">", color=colour, ms=8 if last else 6)
    plot([actor_x], [y], marker="o", color=colour, ms=4)
    text(
        actor_x + 0.1,
        y - 0.1,
        label,
        ha="left",
        va="bottom",
        fontsize=9,
        color=colour,
        fontweight=weight,
    )
    text(world_x + 0.12, y, f"→ {result}", va="center", fontsize=9, color=colour, fontweight=weight)


def save_figure(fig, path: Path) -> None:
    """Save deterministically (no dates, fixed ids, fixed dpi) and atomically (a temporary file
    in the same folder, then a rename)."""
    fmt = path.suffix.lstrip(".")
    metadata = {"Date": None} if fmt in ("svg", "pdf") else {}
    if fmt == "svg":
        metadata["Creator"] = None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=f".{fmt}")
    os.close(fd)
    try:
        with matplotlib.rc_context(STYLE):
            fig.savefig(tmp, format=fmt, metadata=metadata, dpi=DPI)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
