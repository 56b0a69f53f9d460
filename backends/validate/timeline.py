"""A failing key partition as a timeline picture: one lane per client, one bar per operation
from invocation to response (hatched to the right edge when it never answered), labelled with
the op and what the backend answered, and beside it what the model answered in a linearization
where every other op answers as the backend did. The op that breaks linearizability is drawn in
red with the answers the model allows in its place; a legend says which is which. Times are
relative to the first invocation, in milliseconds. Rendering reads the check's result only
(``linearizability.Core``); it never searches."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from backends.validate.history import Observe, Operation
from model import ops as O

ANSWERED, UNANSWERED, CULPRIT = "#8fb3d9", "#d9d9d9", "#e06666"


def readable(value: Any) -> str:
    """``Name(field=value, ...)`` with fields at their default left out (``reports.text.
    labelled``'s form: this layer cannot import reports); plain values as ``describe``."""
    fields = getattr(value, "_fields", None) if isinstance(value, tuple) else None
    if fields is not None:
        defaults = getattr(type(value), "_field_defaults", {})
        args = ", ".join(
            f"{name}={readable(v)}"
            for name, v in zip(fields, value, strict=True)
            if not (name in defaults and defaults[name] == v)
        )
        return f"{type(value).__name__}({args})"
    if isinstance(value, tuple):
        return "(" + ", ".join(readable(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return O.describe(value)


def label(o: Operation, show=O.describe) -> str:
    """The op and the backend's answer (``?`` when it never answered), in ``describe``'s
    positional text: what ``--json`` and the findings' trace files keep (byte-stable)."""
    op = o.op
    if type(op) is Observe:
        return f"observe {op.key}"
    result = "?" if o.pending else show(o.result)
    return f"{show(op)} -> {result}"


def readable_label(o: Operation) -> str:
    """``label`` with fields named, for a person (the text report and the picture)."""
    return label(o, readable)


def model_label(o: Operation, model: Any) -> str:
    if type(o.op) is Observe:
        return "model: the state it reaches"
    return f"model: {readable(model)}"


def render_timeline(
    ops: list[Operation] | tuple[Operation, ...],
    title: str,
    path: Path,
    *,
    culprit: int | None = None,
    model: dict[int, Any] | None = None,
    allowed: list[Any] | None = None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    model = model or {}
    ops = sorted(ops, key=lambda o: o.index)
    t0 = min(o.call for o in ops)
    end = max([o.ret for o in ops if o.ret is not None] + [o.call for o in ops]) - t0
    end_ms = end / 1e6 * 1.1 + 0.01
    lanes = sorted({o.client for o in ops})
    row = {c: i for i, c in enumerate(lanes)}
    fig_h = 1.8 + 0.9 * len(lanes) + 0.22 * len(ops)
    fig, ax = plt.subplots(figsize=(13, fig_h))
    # several bars per lane overlap in time only across lanes: stack labels by order in the lane
    seen: dict[int, int] = {}
    for o in ops:
        y = row[o.client]
        k = seen.get(o.client, 0)
        seen[o.client] = k + 1
        start = (o.call - t0) / 1e6
        stop = end_ms if o.pending else (o.ret - t0) / 1e6
        breaks = o.index == culprit
        ax.barh(
            y,
            max(stop - start, end_ms / 400),
            left=start,
            height=0.3,
            color=CULPRIT if breaks else UNANSWERED if o.pending else ANSWERED,
            hatch="//" if o.pending else None,
            edgecolor="#333333",
            linewidth=1.6 if breaks else 0.8,
        )
        # the backend's answer above the bar, the model's below it
        shift = 0.14 * (k % 2)
        ax.annotate(
            readable_label(o), (start, y - 0.17 - shift), fontsize=7, ha="left", va="bottom"
        )
        if o.index in model:
            same = not o.pending and model[o.index] == o.result
            ax.annotate(
                model_label(o, model[o.index]) + (" (the same)" if same else ""),
                (start, y + 0.17 + shift),
                fontsize=6.5,
                ha="left",
                va="top",
                color="#777777" if same else "#b00000",
            )
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(["harness" if c < 0 else f"client {c}" for c in lanes])
    ax.set_ylim(len(lanes) - 0.2, -0.9)
    ax.set_xlim(0, end_ms)
    ax.set_xlabel("milliseconds since the first invocation")
    ax.set_title(title, fontsize=9)
    legend = [
        Patch(facecolor=ANSWERED, edgecolor="#333333", label="what the backend answered"),
        Patch(facecolor=UNANSWERED, edgecolor="#333333", hatch="//", label="never answered"),
        Patch(facecolor=CULPRIT, edgecolor="#333333", label="the answer that breaks it"),
        Patch(facecolor="white", edgecolor="#b00000", label="below a bar: what the model answered"),
    ]
    ax.legend(handles=legend, loc="upper right", fontsize=7, framealpha=0.9)
    if allowed:
        ax.text(
            0.01,
            0.01,
            "in its place the model allows: " + "; ".join(readable(a) for a in allowed),
            transform=ax.transAxes,
            fontsize=7,
            color="#b00000",
            va="bottom",
        )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)  # readers see the old picture or the new one, never half
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
