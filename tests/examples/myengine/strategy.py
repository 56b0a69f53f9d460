"""``START_AND_WAIT``: start under the key and answer with the run's result (a duplicate adopts
the owner's), written against idemrace's extension points only."""

from __future__ import annotations

from model import ops as O
from model.outcomes import Adopted
from model.state import COMPLETED
from simulator.process import Finished, Program, error, ok, phase
from simulator.strategies.base import StrategySpec
from simulator.strategies.keyed import AdmittedBody

Starting = phase("start")
Waiting = phase("wait", "run", "own", run_ids=("run",))


class StartAndWait(Program):
    def __init__(self, request) -> None:
        self.request = request

    def start(self):
        r = self.request
        return Starting(), O.KeyedStart(r.workflow, r.index, r.key, (), f"req{r.index}")

    def on_result(self, local, result):
        if type(local) is Starting:
            if type(result) is O.Started:
                return Waiting(result.run_id, True), O.AwaitRun(result.run_id)
            if type(result) is O.Existing:
                return Waiting(result.run_id, False), O.AwaitRun(result.run_id)
        if type(local) is Waiting and type(result) is O.RunInfo:
            if result.status != COMPLETED:
                return Finished(), error("owner-" + result.status)
            return Finished(), ok(result.output if local.own else Adopted(result.output))
        return self.unexpected(local, result)


START_AND_WAIT = StrategySpec(
    name="start-and-wait",
    description="start under the key, answer with the run's result (adopt the owner's)",
    needs=frozenset({"keyed-start"}),
    client=StartAndWait,
    body=AdmittedBody,
    ops=frozenset(
        {O.KeyedStart, O.AwaitRun, O.StartRun, O.PerformEffect, O.CompleteRun, O.FailRun, O.GetRun}
    ),
)
