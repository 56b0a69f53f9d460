"""A failing key partition as a timeline picture: one lane per client, one bar per operation
from invocation to response (hatched to the right edge when it never answered), labelled with
the op and its result. Times are relative to the first invocation, in milliseconds."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from backends.validate.history import Observe, Operation
from model import ops as O


def label(o: Operation) -> str:
    op = o.op
    if type(op) is Observe:
        return f"observe {op.key}"
    text = O.describe(op)
    result = "?" if o.pending else O.describe(o.result)
    return f"{text} -> {result}"


def render_timeline(ops: list[Operation] | tuple[Operation, ...], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = sorted(ops, key=lambda o: o.index)
    t0 = min(o.call for o in ops)
    end = max([o.ret for o in ops if o.ret is not None] + [o.call for o in ops]) - t0
    end_ms = end / 1e6 * 1.1 + 0.01
    lanes = sorted({o.client for o in ops})
    row = {c: i for i, c in enumerate(lanes)}
    fig_h = 1.2 + 0.6 * len(lanes) + 0.12 * len(ops)
    fig, ax = plt.subplots(figsize=(13, fig_h))
    # several bars per lane overlap in time only across lanes: stack labels by order in the lane
    seen: dict[int, int] = {}
    for o in ops:
        y = row[o.client]
        k = seen.get(o.client, 0)
        seen[o.client] = k + 1
        start = (o.call - t0) / 1e6
        stop = end_ms if o.pending else (o.ret - t0) / 1e6
        ax.barh(
            y,
            max(stop - start, end_ms / 400),
            left=start,
            height=0.35,
            color="#d9d9d9" if o.pending else "#8fb3d9",
            hatch="//" if o.pending else None,
            edgecolor="#333333",
        )
        ax.annotate(
            label(o),
            (start, y + 0.2 + 0.12 * (k % 3)),
            fontsize=6,
            ha="left",
            va="bottom",
        )
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(["harness" if c < 0 else f"client {c}" for c in lanes])
    ax.set_xlim(0, end_ms)
    ax.set_xlabel("milliseconds since the first invocation")
    ax.set_title(title, fontsize=9)
    ax.invert_yaxis()
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
