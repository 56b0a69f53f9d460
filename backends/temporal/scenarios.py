"""What the real server can honour of the ``temporal`` profile: the conflict and reuse policies
Temporal accepts (and their valid combinations), catalog scenarios replayed with a day of
retention (``with_day_retention``), and generated scenarios for every valid combination
(``policy_scenarios``)."""

from __future__ import annotations

from typing import Any

from backends.protocol import with_profile_option

# a day of wall clock in logical ticks: more than any scenario or workload ever ticks, so a closed
# run is never deleted within a validation, on the server or in the model
DAY_TICKS = 86_400

CONFLICT_POLICIES = {
    "fail": "FAIL",
    "use-existing": "USE_EXISTING",
    "terminate-existing": "TERMINATE_EXISTING",
}
REUSE_POLICIES = {
    "allow-duplicate": "ALLOW_DUPLICATE",
    "allow-duplicate-failed-only": "ALLOW_DUPLICATE_FAILED_ONLY",
    "reject-duplicate": "REJECT_DUPLICATE",
    "terminate-if-running": "TERMINATE_IF_RUNNING",
}
# every combination Temporal accepts (the profile rejects the others when it is built)
VALID_COMBINATIONS: tuple[tuple[str, str], ...] = tuple(
    (c, r)
    for c in CONFLICT_POLICIES
    for r in ("allow-duplicate", "allow-duplicate-failed-only", "reject-duplicate")
    if not (c == "terminate-existing" and r == "reject-duplicate")
)


def with_day_retention(scenario: Any) -> Any:
    """``scenario`` as the real server can honour it: unchanged if no closed run can reach its
    retention within the scenario's ticks, else with ``retention = DAY_TICKS``, renamed."""
    retention = dict(scenario.profile_options).get("retention", 2)  # the profile's default
    if retention > scenario.bounds.max_ticks:
        return scenario
    return with_profile_option(scenario, "retention", DAY_TICKS)


def policy_scenarios() -> list[Any]:
    """Generated scenarios, two per valid policy combination (the catalog covers five of the
    eight): an owner and an in-flight duplicate (the conflict policy), a retry after the owner's
    run closed (the reuse policy: after a completed run, and after a failed one) and one lost
    start response (request-id dedupe, resent while the run is open or after it closed)."""
    from catalog.parse import scenario_from_dict

    out = []
    for conflict, reuse in VALID_COMBINATIONS:
        for ends in ("completed", "failed-after-effect"):
            name = f"temporal-policy-{conflict}-{reuse}-{ends.split('-')[0]}"
            data = {
                "name": name,
                "description": f"generated: conflict {conflict}, reuse {reuse}, owner {ends}",
                "profile": "temporal",
                "properties": ["at-most-once-effect"],
                "profile_options": {
                    "conflict_policy": conflict,
                    "reuse_policy": reuse,
                    "retention": DAY_TICKS,
                },
                "bounds": {
                    "max_depth": 40,
                    "max_ticks": 1,
                    "dedupe_window": 1,
                    "max_lost_responses": 1,
                },
                "requests": [
                    {
                        "strategy": "keyed-execute",
                        "key": "order:1",
                        "workflow": "order",
                        "options": {"ends": ends},
                    },
                    {"strategy": "keyed-adopt", "key": "order:1", "workflow": "order"},
                    {
                        "strategy": "keyed-execute",
                        "key": "order:1",
                        "workflow": "order",
                        "after": 1,
                        "arrive": [0, 1],
                    },
                ],
            }
            out.append(scenario_from_dict(data, f"<generated {name}>"))
    return out
