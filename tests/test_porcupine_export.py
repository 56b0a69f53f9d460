"""The Porcupine comparison's exporter (``benchmarks/porcupine_vs_python.py``): what it writes is
what the Go port reads, and what the port does not cover is refused, never exported wrongly.
Where ``go`` and Porcupine's source are here, both checkers run on two small histories and must
agree (the benchmark itself compares them on the suite's histories)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from backends.validate.history import Operation
from backends.validate.linearizability import LINEARIZABLE, NOT_LINEARIZABLE, check_history
from model import ops as O
from model.profiles import make_profile

PROFILE = make_profile("vercel-keyed-start", retention=1)
_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "porcupine_vs_python.py"


def _load():
    spec = importlib.util.spec_from_file_location("porcupine_vs_python", _PATH)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("porcupine_vs_python", module)
    spec.loader.exec_module(module)
    return module


pvp = _load()


def _start(i, client, request, result, call, ret):
    return Operation(i, client, "a", O.KeyedStart("wf-a", request, "a"), result, call, ret)


GOOD = [
    _start(1, 0, 1, O.Started(7), 0, 10),
    _start(2, 1, 2, O.Existing(7, "pending", None), 5, 20),
    Operation(3, 0, "a", O.CompleteRun(7, ("x", 1)), O.Ok(), 30, 40),
    Operation(4, -1, None, O.AdvanceClock(), O.Ok(1), 50, 51),
    _start(5, 1, 3, None, 60, None),  # no response
]
# two admissions of one key that did not overlap
BAD = [_start(1, 0, 1, O.Started(7), 0, 10), _start(2, 1, 2, O.Started(8), 20, 30)]


def test_a_history_is_written_as_the_go_port_reads_it(tmp_path):
    path = tmp_path / "h.json"
    pvp.export(PROFILE, GOOD, path)
    doc = json.loads(path.read_text())
    assert doc["profile"] == {
        "name": PROFILE.name,
        "options": json.loads(json.dumps(PROFILE.options)),
    }
    first, complete, tick, pending = doc["ops"][0], doc["ops"][2], doc["ops"][3], doc["ops"][4]
    assert first["op"] == {"kind": "KeyedStart", "workflow": "wf-a", "request": 1, "key": "a"}
    assert first["result"] == {"kind": "Started", "run_id": 7}
    assert complete["op"]["value"] == repr(("x", 1))  # an opaque value: compared by its repr
    assert tick["key"] is None and tick["op"] == {"kind": "AdvanceClock"}
    assert pending["ret"] is None and pending["result"] is None


def test_what_the_port_does_not_cover_is_refused(tmp_path):
    float_payload = Operation(1, 0, "a", O.DeliverPayload(1, "h", 1.5), O.Ok(), 0, 1)
    with pytest.raises(pvp.ExportError, match="no exported form"):
        pvp.export(PROFILE, [float_payload], tmp_path / "h.json")
    unported = Operation(1, 0, "a", O.AwaitRun(1), O.Ok(), 0, 1)
    with pytest.raises(pvp.ExportError, match="not ported"):
        pvp.export(PROFILE, [unported], tmp_path / "h.json")
    with_attributes = O.KeyedStart("wf-a", 1, "a")._replace(attributes=(("k", "v"),))
    with pytest.raises(pvp.ExportError, match="attributes"):
        pvp.export(
            PROFILE,
            [Operation(1, 0, "a", with_attributes, O.Started(1), 0, 1)],
            tmp_path / "h.json",
        )


@pytest.mark.skipif(pvp.missing() is not None, reason=f"Porcupine: {pvp.missing()}")
def test_porcupine_and_ours_agree_on_small_histories(tmp_path):
    binary = pvp.build(tmp_path)
    for history, expected in ((GOOD, LINEARIZABLE), (BAD, NOT_LINEARIZABLE)):
        path = tmp_path / "h.json"
        pvp.export(PROFILE, history, path)
        theirs = pvp.run_porcupine(binary, path, 30.0, False)
        assert check_history(PROFILE, history).verdict == expected
        assert theirs["verdict"] == expected
