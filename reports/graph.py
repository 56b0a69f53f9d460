"""The explored state graph around a counterexample, for people.

Built after the search, never during it: the counterexample path is replayed from the initial
state, and every path state's successors are expanded once more, so the picture shows the path
and each branch a scheduler could have taken instead (capped per state). networkx holds the graph
only here; it is saved as GraphML (for tools) and drawn with matplotlib (for people).

Every node carries its state in words: ``label`` (one line, as before), ``short`` (a few words:
run statuses, token owners, effects; printed beside each path state) and ``detail`` (the world
and every process in full; the tooltip of the node in ``state-graph.svg``, whose node groups have
the ids ``node-<name>``).
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx

from reports.states import mover, process_lines, short_state, world_lines
from simulator.system import System

MAX_BRANCHES = 4  # off-path successors shown per path state
WRAP = 14  # path steps a row of the picture
LABEL_ROOM = 0.55  # height (data units, 0.8 = one row) above a path state for its words


def summarize(system: System, state) -> str:
    """One line: run statuses, token owners, and the clock."""
    world = state.world
    runs = " ".join(f"r{r.id}:{r.status}" for r in world.runs) or "no runs"
    hooks = " ".join(f"{h.token}->r{h.run_id}" for h in world.hooks) or "no hooks"
    return f"t={world.clock} | {runs} | {hooks} | effects={len(world.effects)}"


def _state_attrs(system: System, state, label: str = "") -> dict[str, str]:
    return {
        "label": summarize(system, state),
        "short": short_state(state.world, mover(system, state, label) if label else ""),
        "detail": "\n".join(world_lines(state.world) + process_lines(system, state)),
    }


def neighbourhood(system: System, schedule: list[str]) -> nx.DiGraph:
    """The path of ``schedule`` and up to ``MAX_BRANCHES`` alternatives per path state."""
    graph = nx.DiGraph()
    state = system.initial()
    ids = {state: "s0"}
    graph.add_node("s0", **_state_attrs(system, state), on_path=True, step=0)
    path_states = [state]
    for k, label in enumerate(schedule, start=1):
        state, _ = system.step(state, label)
        node = f"s{k}"
        if state not in ids:
            ids[state] = node
        graph.add_node(node, **_state_attrs(system, state, label), on_path=True, step=k)
        graph.add_edge(f"s{k - 1}", node, action=label, on_path=True)
        path_states.append(state)
    extra = 0
    for k, here in enumerate(path_states):
        taken = schedule[k] if k < len(schedule) else None
        shown = 0
        for label, nxt in system.successors(here):
            if label == taken or shown >= MAX_BRANCHES:
                continue
            node = ids.get(nxt)
            if node is None:
                extra += 1
                node = f"n{extra}"
                ids[nxt] = node
                graph.add_node(node, **_state_attrs(system, nxt, label), on_path=False, step=k + 1)
            if not graph.has_edge(f"s{k}", node):
                graph.add_edge(f"s{k}", node, action=label, on_path=False)
            shown += 1
    return graph


def save_graphml(graph: nx.DiGraph, path: Path) -> None:
    from catalog.trace import write_atomic

    write_atomic(path, "\n".join(nx.generate_graphml(graph, prettyprint=True)) + "\n")


def render_graph(graph: nx.DiGraph, title: str, path: Path, svg: Path | None = None) -> None:
    """The path left to right (numbered by step, the violating state last and red, each with its
    state in a few words above it), each path state's alternatives below it, every edge labelled
    with the process that moved. ``svg``: also an SVG whose nodes have their full state as a
    tooltip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from reports.swimlane import DPI, STYLE, VIOLATION, save_figure

    path_nodes = sorted(
        (n for n, d in graph.nodes(data=True) if d["on_path"]), key=lambda n: graph.nodes[n]["step"]
    )
    # off-path states hang below the path state they branch from (x + 0.5: between columns)
    below: dict[int, list[str]] = {}
    placed = set(path_nodes)
    for u, v, data in sorted(
        graph.edges(data=True), key=lambda e: (graph.nodes[e[0]]["step"], e[1])
    ):
        if not data["on_path"] and v not in placed:
            below.setdefault(graph.nodes[u]["step"], []).append(v)
            placed.add(v)
    rows = max((len(nodes) for nodes in below.values()), default=0)
    # a long path wraps into bands of WRAP steps, so the picture stays readable at normal zoom
    depth = max((graph.nodes[n]["step"] for n in path_nodes), default=0)
    columns = min(depth, WRAP - 1) + 1
    band_height = (rows + 1.4) * 0.8 + LABEL_ROOM

    def where(step: int, row: int = 0, shift: float = 0.0) -> tuple[float, float]:
        return (step % WRAP + shift, -(step // WRAP) * band_height - row * 0.8)

    position = {node: where(graph.nodes[node]["step"]) for node in path_nodes}
    for step, nodes in below.items():
        for row, node in enumerate(nodes, start=1):
            position[node] = where(step, row, 0.5)
    width = max(8.0, 1.45 * columns + 2.5)
    lowest = min(y for _, y in position.values()) - 0.5  # the last band may be short
    legend_columns = 1 if width < 11 else (2 if width < 15 else 3)
    foot = 0.3 + 0.25 * -(-3 // legend_columns)  # inches for the legend's rows
    height = max(3.2, 0.75 * (0.6 + LABEL_ROOM - lowest) / 0.8 + 1.2 + foot)
    with matplotlib.rc_context(STYLE):
        fig = plt.figure(figsize=(width, height), dpi=DPI)
        ax = fig.add_axes((0.02, foot / height, 0.96, 1 - (foot + 0.6) / height))
        off_edges = [(u, v) for u, v, d in graph.edges(data=True) if not d["on_path"]]
        on_edges = [(u, v) for u, v, d in graph.edges(data=True) if d["on_path"]]
        nx.draw_networkx_edges(
            graph,
            position,
            edgelist=off_edges,
            ax=ax,
            edge_color="#b0b0b0",
            arrows=False,  # they all point down, away from the path; lines draw much faster
            width=0.8,
            node_size=160,
        )
        nx.draw_networkx_edges(
            graph,
            position,
            edgelist=on_edges,
            ax=ax,
            edge_color=VIOLATION,
            arrows=True,
            arrowsize=14,
            width=2.4,
            node_size=420,
        )
        # one call a node, so each node is its own SVG group (id node-<name>) with a tooltip
        looks = {n: ("#eeeeee", 160, "o", "#9e9e9e") for n in graph.nodes}
        looks.update({n: ("#ffcdd2", 420, "o", VIOLATION) for n in path_nodes[:-1]})
        looks.update({n: (VIOLATION, 620, "s", VIOLATION) for n in path_nodes[-1:]})
        for node in sorted(graph.nodes, key=lambda n: (not graph.nodes[n]["on_path"], n)):
            fill, size, shape, edge = looks[node]
            drawn = nx.draw_networkx_nodes(
                graph,
                position,
                nodelist=[node],
                ax=ax,
                node_color=fill,
                node_size=size,
                node_shape=shape,
                edgecolors=edge,
            )
            drawn.set_gid(f"node-{node}")
        for node in path_nodes:
            nx_, ny_ = position[node]
            ax.text(
                nx_,
                ny_ + 0.22,
                graph.nodes[node].get("short", ""),
                ha="center",
                va="bottom",
                fontsize=7,
                color="#37474f",
                linespacing=1.1,
            )
        nx.draw_networkx_labels(
            graph,
            position,
            labels={n: graph.nodes[n]["step"] for n in path_nodes[:-1]},
            ax=ax,
            font_size=9,
        )
        nx.draw_networkx_labels(
            graph,
            position,
            labels={n: graph.nodes[n]["step"] for n in path_nodes[-1:]},
            ax=ax,
            font_size=9,
            font_color="white",
            font_weight="bold",
        )
        on_labels = {(u, v): d["action"] for u, v, d in graph.edges(data=True) if d["on_path"]}
        nx.draw_networkx_edge_labels(
            graph,
            position,
            edge_labels=on_labels,
            ax=ax,
            font_size=8,
            font_color=VIOLATION,
            rotate=False,
            label_pos=0.5,
            bbox={"fc": "white", "ec": "none", "pad": 0.5},
        )
        # an alternative is named beside its state (edge labels would pile up at the fork)
        for _u, v, d in sorted(graph.edges(data=True), key=lambda e: (e[0], e[1])):
            if not d["on_path"] and not graph.nodes[v]["on_path"]:
                vx, vy = position[v]
                ax.text(vx + 0.12, vy, d["action"], fontsize=7.5, color="#616161", va="center")
        ax.set_xlim(-0.6, columns + 0.4)
        ax.set_ylim(lowest, 0.6 + LABEL_ROOM)
        ax.axis("off")
        fig.text(0.01, 1 - 0.3 / height, title, fontsize=12, fontweight="bold", va="center")
        fig.legend(
            handles=[
                Line2D(
                    [0],
                    [0],
                    color=VIOLATION,
                    lw=2.4,
                    marker="o",
                    markerfacecolor="#ffcdd2",
                    label="the counterexample: states numbered by step, edges by who moved",
                ),
                Line2D(
                    [0],
                    [0],
                    marker="s",
                    color=VIOLATION,
                    lw=0,
                    markersize=11,
                    label="the state that violates the property",
                ),
                Line2D(
                    [0],
                    [0],
                    color="#b0b0b0",
                    lw=0.8,
                    marker="o",
                    markerfacecolor="#eeeeee",
                    label=f"other moves from a path state (up to {MAX_BRANCHES} each)",
                ),
            ],
            loc="lower center",
            bbox_to_anchor=(0.5, 0.05 / height),
            ncol=legend_columns,
            fontsize=9,
            frameon=False,
        )
        save_figure(fig, path)
        if svg is not None:
            from reports.swimlane import add_titles

            save_figure(fig, svg)
            add_titles(
                svg,
                {
                    f"node-{n}": f"{n} (step {d['step']}):\n{d.get('detail', d['label'])}"
                    for n, d in graph.nodes(data=True)
                },
            )
        plt.close(fig)
