"""System states in words, for people: the world's storage and every process, line by line.

``world_lines`` and ``process_lines`` are the full text (the HTML report's before/after panes, the
state graph's tooltips); ``short_state`` is a few words a state, to print beside a node of the
state graph. Read from the state only: rendering never searches.
"""

from __future__ import annotations

from typing import Any

from reports.text import labelled
from simulator.process import Done

STATUS = {
    "pending": "pend",
    "running": "run",
    "completed": "done",
    "failed": "fail",
    "cancelled": "canc",
}
SHORT_WIDTH = 22  # characters a line of a node label
SHORT_LINES = 3


def world_lines(world) -> list[str]:
    """One line per stored fact: runs, hooks, key entries, records, then the ghost history."""
    lines = [f"clock t={world.clock}"]
    for run in world.runs:
        extra = [f"for req{run.request}"]
        if run.key is not None:
            extra.append(f"key {run.key!r}")
        if run.output is not None:
            extra.append(f"output {labelled(run.output)}")
        if run.ended_at is not None:
            extra.append(f"ended t={run.ended_at}")
        lines.append(f"run r{run.id} {run.workflow!r} {run.status} ({', '.join(extra)})")
    for hook in world.hooks:
        inbox = f", inbox {labelled(hook.inbox)}" if hook.inbox else ""
        lines.append(f"hook {hook.token!r} owned by r{hook.run_id} ({hook.hook_id}{inbox})")
    for entry in world.keys:
        until = f", until t={entry.expires_at}" if entry.expires_at is not None else ""
        lines.append(f"key {entry.key!r} -> r{entry.run_id} (since t={entry.claimed_at}{until})")
    for key, run_id in world.records:
        lines.append(f"app record {key!r} -> r{run_id}")
    for effect in world.effects:
        lines.append(
            f"effect {effect.key!r} done by r{effect.run_id} for req{effect.request} "
            f"at t={effect.tick}"
        )
    lines += [f"delivered {labelled(p)} to r{run}" for p, run in world.delivered]
    lines += [f"consumed {labelled(p)} by r{run}" for p, run in world.consumed]
    lines += [f"r{by} cancelled r{run}" for by, run in world.cancels]
    return lines


def process_lines(system, state) -> list[str]:
    """One line per process that exists: its local state and what it does next."""
    lines = []
    for slot, proc in enumerate(state.procs):
        if proc is None:
            continue
        local, pending = proc
        name = system.slot_name(slot)
        if isinstance(pending, Done):
            lines.append(f"{name}: finished, {labelled(pending.outcome)}")
        else:
            lines.append(f"{name}: at {labelled(local)}, next {labelled(pending)}")
    return lines


def _wrap(tokens: list[str]) -> list[str]:
    lines: list[str] = []
    for token in tokens:
        if lines and len(lines[-1]) + 1 + len(token) <= SHORT_WIDTH:
            lines[-1] += " " + token
        else:
            lines.append(token)
    if len(lines) > SHORT_LINES:
        lines = lines[:SHORT_LINES]
        lines[-1] = lines[-1][: SHORT_WIDTH - 1] + "…"
    return lines


def phase(local: Any) -> str:
    """A process's local state in a word: a typed phase's name, a tagged tuple's tag."""
    if isinstance(local, tuple) and hasattr(local, "_fields"):
        return type(local).__name__
    if isinstance(local, tuple) and local and isinstance(local[0], str):
        return local[0]
    return labelled(local)


def mover(system, state, label: str) -> str:
    """Who moved into ``state`` by action ``label``, and the phase it is now in: ``r1: cancel``,
    ``req2 arrived``, ``tick``."""
    slot = system.slot_of(label)
    if slot is None:
        if label.startswith("arrive "):
            return f"{label[7:]} arrived"
        return label
    proc = state.procs[slot]
    if proc is None:
        return label
    if isinstance(proc[1], Done):
        return f"{label}: finished"
    return f"{label}: {phase(proc[0])}"


def short_state(world: Any, moved: str = "") -> str:
    """A few words: who just moved (``moved``), each run's status, each token's owner, the
    effects done, the clock."""
    tokens = [f"r{run.id} {STATUS.get(run.status, run.status)}" for run in world.runs]
    tokens += [f"{hook.token}→r{hook.run_id}" for hook in world.hooks]
    if world.effects:
        tokens.append(f"{len(world.effects)} effect{'s' if len(world.effects) > 1 else ''}")
    if world.clock:
        tokens.append(f"t={world.clock}")
    lines = _wrap(tokens) if tokens else ["no runs"]
    return "\n".join(([moved] if moved else []) + lines)
