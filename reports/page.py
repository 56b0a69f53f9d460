"""A scenario's report as one HTML page, its pictures inline, and a step explorer.

The page is ``report.md`` rendered (markdown-it, which rich already depends on), with the two
pictures inlined as SVG instead of linked PNGs, links between reports pointing at their pages,
and, in place of the swimlane image, an explorer in the manner of Porcupine's and stateright's:
hover (or click, or use the arrow keys on) a step in the swimlane or in the step table to see

* the op with its fields named and what came back, and the step in words;
* who issued it: the process, its request's strategy, whether it is the client or the workflow
  body, and the method of the strategy's code that chose the op (file and line), with the
  process's local state before and after;
* the world's storage and every process before and after the step, what changed highlighted
  (lines compared as multisets: a second copy of a line, a repeated effect, is a change).

``#step-N`` in the address, on load or changed later, pins step N and brings the explorer into
view; hovering a state of the path in the state graph shows the step into it. The script comes
last in the page, after the pictures it wires.

Everything shown comes from the check's result: the counterexample's schedule is replayed
through the ``System`` to recover the states along it (replay, not search). Plain HTML, CSS and a
little inline script: no network, no CDN, opens from a file.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from pathlib import Path

from reports.causal import Marks
from reports.states import process_lines, world_lines
from reports.story import phrase
from reports.text import labelled
from simulator.process import Done
from simulator.system import Arrive, Crash, Step, System

ROOT = Path(__file__).resolve().parents[1]
STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em 2em;max-width:120em;color:#212121}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #e0e0e0}
nav a{margin-right:1.2em}code,pre{font-family:ui-monospace,monospace;font-size:12.5px}
pre{background:#f5f5f5;padding:.6em;overflow:auto}
table{border-collapse:collapse;font-size:13px;margin:.6em 0}
td,th{border:1px solid #ddd;padding:3px 6px;vertical-align:top;text-align:left}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:bold}
.violated{background:#ffebee;color:#b71c1c}.holds{background:#e8f5e9;color:#1b5e20}
.unknown{background:#fff8e1;color:#8d6e00}
.explorer{display:grid;grid-template-columns:minmax(0,1.25fr) minmax(24em,1fr);gap:1em;
align-items:start}
.lane{overflow:auto;max-height:85vh;border:1px solid #e0e0e0}
.lane svg{height:auto;max-width:none}
.lane g[id^="swimlane-step-"] path{pointer-events:all}
.panel{position:sticky;top:.5em;border:1px solid #bdbdbd;border-radius:6px;padding:.6em .9em;
background:#fafafa;font-size:13px;max-height:92vh;overflow:auto}
.panel h3{margin:.1em 0 .4em}.panel .who{color:#455a64}
.panel .cols{display:grid;grid-template-columns:1fr 1fr;gap:.6em}
.panel ul{list-style:none;padding:0;margin:.2em 0;font-family:ui-monospace,monospace;
font-size:11.5px}
.panel li{padding:1px 3px;white-space:pre-wrap;word-break:break-word}
li.added{background:#e8f5e9}li.removed{background:#ffebee;text-decoration:line-through}
table.steps tr{cursor:pointer}table.steps tr.causal td:first-child{background:#fff3d6}
table.steps tr.current{outline:2px solid #ff8f00}table.steps td.op{font-family:ui-monospace,
monospace;font-size:11.5px}
.key{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;
vertical-align:middle}
.graph{overflow:auto;border:1px solid #e0e0e0}
.graph svg text{pointer-events:none}
"""
SCRIPT = r"""
(function(){
// runs at the end of the body, once the swimlane, the table and the state graph are all there
const steps=JSON.parse(document.getElementById('steps-data').textContent);
const panel=document.getElementById('panel'),explorer=document.getElementById('explorer');
const lane=document.querySelector('.lane'),pic=lane&&lane.querySelector('svg'),
 fit=document.getElementById('fit');
let current=0,pinned=false;
function esc(s){return s.replace(/[&<>]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));}
// which lines changed is computed in Python, as multisets: a second copy of a line is a change
function list(lines,marked,mark){const m=new Set(marked);return '<ul>'+lines.map((l,i)=>
 '<li class="'+(m.has(i)?mark:'')+'">'+esc(l)+'</li>').join('')+'</ul>';}
function pane(title,before,after,removed,added){return '<h4>'+title+
 '</h4><div class="cols"><div><b>before</b>'+list(before,removed,'removed')+
 '</div><div><b>after</b>'+list(after,added,'added')+'</div></div>';}
function row(k){return pic&&pic.querySelector('g[id="swimlane-step-'+k+'"] path');}
// scroll the swimlane's box (not the page) so step k's row shows: vertically the row, and
// horizontally its process's lane to the world's results (the violating step: the label at right)
function reveal(k){const hit=row(k);if(!hit)return;
 const box=lane.getBoundingClientRect(),r=hit.getBoundingClientRect(),
  scale=r.width/pic.width.baseVal.value||1,pad=r.height;
 const top=r.top-box.top+lane.scrollTop,bottom=top+r.height;
 if(top-pad<lane.scrollTop)lane.scrollTop=top-pad;
 else if(bottom+pad>lane.scrollTop+lane.clientHeight)lane.scrollTop=bottom+pad-lane.clientHeight;
 const x=name=>{const h=pic.querySelector('g[id="lane-'+name+'"]');if(!h)return null;
  const b=h.getBoundingClientRect();return b.left+b.width/2-box.left+lane.scrollLeft;};
 const world=x('world'),own=x(steps[k-1].lane),full=r.right-box.left+lane.scrollLeft;if(world===null)return;
 const left=Math.max(0,Math.min(own===null?world:own,world)-80*scale),
  right=k===steps.length?full:Math.min(full,world+260*scale),width=lane.clientWidth;
 if(right-left<=width){if(left<lane.scrollLeft)lane.scrollLeft=left;
  else if(right>lane.scrollLeft+width)lane.scrollLeft=right-width;}
 else lane.scrollLeft=k===steps.length?right-width:left;}
function show(k,scroll){const s=steps[k-1];if(!s)return;current=k;
 document.querySelectorAll('table.steps tr.current').forEach(r=>r.classList.remove('current'));
 const tr=document.getElementById('row-'+k);if(tr)tr.classList.add('current');
 if(pic)pic.querySelectorAll('g[id^="swimlane-step-"] path').forEach(p=>{p.style.opacity='0';});
 // the current row is outlined, and tinted unless it is the violation's (whose pink stays)
 const hit=row(k);if(hit){hit.style.fill=k===steps.length?'none':'#ffb300';
  hit.style.fillOpacity='0.2';hit.style.stroke='#ff8f00';hit.style.strokeWidth='2.5';
  hit.style.opacity='1';}
 if(scroll)reveal(k);
 panel.innerHTML='<h3>step '+k+' of '+steps.length+(s.causal?' · leads to the violation':'')+
 (k===steps.length?' · <span class="badge violated">violates</span>':'')+'</h3>'+
 '<div class="who"><span class="key" style="background:'+s.colour+'"></span>'+esc(s.who)+'</div>'+
 (s.code?'<div class="who">'+esc(s.code)+'</div>':'')+
 '<p><b>op</b> <code>'+esc(s.op)+'</code><br><b>result</b> <code>'+esc(s.result)+'</code></p>'+
 '<p>'+esc(s.phrase)+'</p>'+
 (s.local_before!==null?'<p><b>'+esc(s.lane)+'</b> local state: <code>'+esc(s.local_before)+
 '</code> → <code>'+esc(s.local_after)+'</code></p>':'')+
 pane('world',s.world_before,s.world_after,s.world_removed,s.world_added)+
 pane('processes',s.procs_before,s.procs_after,s.procs_removed,s.procs_added);}
// hovering the swimlane itself does not scroll it; the table and the graph bring the row in
function bind(el,k,scroll){el.addEventListener('mouseenter',()=>{if(!pinned)show(k,scroll);});
 el.addEventListener('click',()=>{pinned=!(pinned&&current===k);show(k,scroll);});}
if(pic)pic.querySelectorAll('g[id^="swimlane-step-"]').forEach(g=>bind(g,+g.id.slice(14),false));
document.querySelectorAll('table.steps tr[id^="row-"]').forEach(r=>bind(r,+r.id.slice(4),true));
// a state of the path in the graph is the state after its step: hovering it shows that step
document.querySelectorAll('.graph svg g[id^="node-s"]').forEach(g=>{const k=+g.id.slice(6);
 if(k>=1&&steps[k-1])bind(g,k,true);});
document.addEventListener('keydown',e=>{if(e.key==='ArrowDown'||e.key==='j'){pinned=true;
 show(Math.min(steps.length,current+1),true);e.preventDefault();}
 if(e.key==='ArrowUp'||e.key==='k'){pinned=true;show(Math.max(1,current-1),true);
 e.preventDefault();}});
function size(fitted){if(!pic)return;pic.style.width=fitted?'100%':'';
 fit.textContent=fitted?'actual size':'fit to width';fit.dataset.fitted=fitted?'1':'';}
if(pic&&fit){fit.addEventListener('click',()=>{size(!fit.dataset.fitted);reveal(current);});
 // a picture a little wider than its column is shrunk to fit; a crowd's stays readable
 size(pic.width.baseVal.value<=lane.clientWidth*1.6);}
// #step-N (on load, or changed later) pins step N and brings the explorer into view; no
// element has the id step-N, so the browser's own jump does not take the page elsewhere
function wanted(){const m=/^#step-(\d+)$/.exec(location.hash);
 if(!m||!steps[+m[1]-1])return false;pinned=true;show(+m[1],true);
 explorer.scrollIntoView();return true;}
window.addEventListener('hashchange',wanted);
if(!wanted())show(steps.length,true);
})();
"""
# the swimlane's step rows, inlined, are ``swimlane-step-<k>``: ``#step-<k>`` is the explorer's
# anchor (its script selects the step), and the browser must not jump to the row itself
_STEP_ID = re.compile(r'id="step-(\d+)"')
_GENERIC_ID = re.compile(
    r'id="((?:figure|axes|patch|text|line2d|legend|PathCollection|LineCollection|'
    r'matplotlib\.axis)_\d+)"'
)


def _where(cls: type, method: str) -> str:
    """``Class.method (file:line)`` of the code that picks a process's next op."""
    for klass in cls.__mro__:
        func = klass.__dict__.get(method)
        if func is not None and hasattr(func, "__code__"):
            code = func.__code__
            try:
                file = Path(code.co_filename).resolve().relative_to(ROOT)
            except ValueError:
                file = Path(code.co_filename)
            return f"{cls.__name__}.{method} ({file}:{code.co_firstlineno})"
    return cls.__name__


def _lane(step: Step) -> str:
    return step.op.actor if isinstance(step.op, (Arrive, Crash)) else step.actor


def changed(lines: list[str], other: list[str]) -> list[int]:
    """Indices of ``lines`` that ``other`` lacks, the two taken as multisets: the n-th copy of a
    line is a change when ``other`` has fewer than n copies (a repeated effect is one)."""
    left = Counter(other)
    out = []
    for i, line in enumerate(lines):
        if left[line] > 0:
            left[line] -= 1
        else:
            out.append(i)
    return out


def step_rows(system: System, schedule: list[str], steps: list[Step], marks: Marks | None):
    """Per step, what the explorer panel shows (see the module docstring)."""
    state = system.initial()
    rows = []
    seen: set[str] = set()
    for k, (label, step) in enumerate(zip(schedule, steps, strict=True), start=1):
        after, _ = system.step(state, label)
        lane = _lane(step)
        slot = system.slot_of(step.actor)
        who, code, local_before, local_after = step.actor, "", None, None
        if slot is not None and not isinstance(step.op, (Arrive, Crash)):
            request = system.requests[slot] if slot < system.n else None
            if request is None:
                run = after.world.run(slot - system.n + 1)
                request = system.requests[run.request - 1] if run is not None else None
            role = "client (route handler)" if slot < system.n else "workflow body"
            if request is not None:
                who = f"{step.actor}: {role} of req{request.index}, strategy {request.strategy!r}"
                program = system.program(after.world, slot)
                first = lane not in seen
                code = "op chosen by " + _where(type(program), "start" if first else "on_result")
            before_proc, after_proc = state.procs[slot], after.procs[slot]
            if before_proc is not None:
                local_before = labelled(before_proc[0])
            if after_proc is not None:
                done = isinstance(after_proc[1], Done)
                local_after = labelled(after_proc[0]) + (" (finished)" if done else "")
        elif isinstance(step.op, Arrive):
            who = f"environment: request {lane} arrives"
        elif isinstance(step.op, Crash):
            who = f"environment: the body of {lane} crashes"
        else:
            who = "environment" if step.actor == "env" else f"{step.actor} (world-internal)"
        seen.add(lane)
        world_before, world_after = world_lines(state.world), world_lines(after.world)
        procs_before, procs_after = process_lines(system, state), process_lines(system, after)
        rows.append(
            {
                "k": k,
                "label": label,
                "lane": lane,
                "who": who,
                "code": code,
                "op": labelled(step.op),
                "result": labelled(step.result),
                "phrase": phrase(step),
                "causal": marks is None or k in marks.causal,
                "colour": marks.colour_of(lane) if marks is not None else "#1565c0",
                "key": marks.keys.get(lane) if marks is not None else None,
                "local_before": local_before,
                "local_after": local_after,
                "world_before": world_before,
                "world_after": world_after,
                "world_removed": changed(world_before, world_after),
                "world_added": changed(world_after, world_before),
                "procs_before": procs_before,
                "procs_after": procs_after,
                "procs_removed": changed(procs_before, procs_after),
                "procs_added": changed(procs_after, procs_before),
            }
        )
        state = after
    return rows


def inline_svg(path: Path, prefix: str = "") -> str:
    """An SVG file's ``<svg>`` element, for inlining (matplotlib's generic element ids get
    ``prefix`` so two pictures on one page do not share them)."""
    text = path.read_text()
    text = text[text.index("<svg") :]
    if prefix:
        text = _GENERIC_ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', text)
    return text


def _explorer(rows, swimlane_svg: str, marks: Marks | None) -> str:
    e = html.escape
    legend = ""
    if marks is not None:
        legend = "<p>Keys: " + " ".join(
            f"<span class='key' style='background:{e(c)}'></span><code>{e(k)}</code>"
            for k, c in marks.colours.items()
        )
        if marks.parties:
            legend += (
                " · steps leading to the violation (amber) are those of "
                + ", ".join(f"<code>{e(p)}</code>" for p in marks.parties)
                + " and the steps acting on their runs"
            )
        legend += "</p>"
    table = [
        "<table class='steps'><tr><th>#</th><th>who</th><th>op</th><th>result</th></tr>",
        *(
            f"<tr id='row-{r['k']}' class='{'causal' if r['causal'] else ''}'>"
            f"<td>{r['k']}</td><td><span class='key' style='background:{e(r['colour'])}'></span>"
            f"{e(r['label'])}</td><td class='op'>{e(r['op'])}</td>"
            f"<td class='op'>{e(r['result'])}</td></tr>"
            for r in rows
        ),
        "</table>",
    ]
    data = json.dumps(rows, sort_keys=True, ensure_ascii=False).replace("</", "<\\/")
    return "\n".join(
        [
            "<h3 id='explorer'>Step explorer</h3>",
            "<p>Hover a step in the swimlane or the table for the world before and after it; "
            "click to pin, arrow keys (or j/k) to move; <code>#step-N</code> in the address "
            "opens step N. <button id='fit' type='button'>fit to width</button></p>",
            legend,
            "<div class='explorer'><div>",
            f"<div class='lane'>{swimlane_svg}</div>",
            *table,
            "</div><div class='panel' id='panel'></div></div>",
            f"<script type='application/json' id='steps-data'>{data}</script>",
        ]
    )


def _markdown():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).enable("table")


def write_report_page(
    folder: Path,
    markdown: str,
    title: str,
    verdict: str,
    rows=None,
    marks: Marks | None = None,
) -> str:
    """``folder/report.html`` from ``report.md``'s text; with ``rows`` (``step_rows``) the
    swimlane image becomes the step explorer and the state graph is inlined. Returns the page."""
    from catalog.trace import write_atomic

    e = html.escape
    body = _markdown().render(markdown)
    # links between reports go to their pages
    body = re.sub(r'href="(\.\./[^"/]+/)report\.md"', r'href="\1report.html"', body)
    script = []
    picture = '<p><img src="swimlane.png" alt="swimlane" /></p>'
    if rows is not None and (folder / "swimlane.svg").exists() and picture in body:
        swimlane = _STEP_ID.sub(r'id="swimlane-step-\1"', inline_svg(folder / "swimlane.svg"))
        body = body.replace(picture, _explorer(rows, swimlane, marks))
        # the explorer's script goes last, once the state graph (whose states it wires) is in
        script = [f"<script>{SCRIPT}</script>"]
    if (folder / "state-graph.svg").exists():
        picture = '<p><img src="state-graph.png" alt="state graph" /></p>'
        graph = inline_svg(folder / "state-graph.svg", prefix="graph-")
        body = body.replace(
            picture,
            "<p>Hover a state for its contents; a state of the path (red) also shows the step "
            f"into it in the step explorer above.</p><div class='graph'>{graph}</div>",
        )
    # the verdict line gets a badge
    body = body.replace(
        f"<p><strong>{e(verdict)}</strong>",
        f"<p><strong class='badge {e(verdict)}'>{e(verdict)}</strong>",
        1,
    )
    files = [("report.md", "Markdown")]
    if (folder / "trace.json").exists():
        files += [("trace.json", "trace"), ("swimlane.svg", "swimlane SVG")]
        files += [("state-graph.svg", "state graph SVG"), ("state-graph.graphml", "GraphML")]
    nav = "".join(f"<a href='{e(f)}'>{e(label)}</a>" for f, label in files)
    page = "\n".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            f"<title>{e(title)}: idemrace race report</title>",
            f"<style>{STYLE}</style></head><body>",
            f"<nav><a href='../index.html'>← all reports</a>{nav}</nav>",
            body,
            *script,
            "</body></html>",
        ]
    )
    write_atomic(folder / "report.html", page + "\n")
    return page
