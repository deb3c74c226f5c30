"""The certification center's audit checks: every part's path through its tests and the queues,
recomputed from a results folder alone (no code shared with the center)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gwangju_twin.audit import Check, Record, passed_if, speeds_within_caps

if TYPE_CHECKING:
    pass

# --- certification -------------------------------------------------------------------------------
OPEN_STATES = ("in_transit", "waiting", "in_test", "rework")


@dataclass
class Queues:
    """Time parts spent queueing for each equipment type, replayed from the log."""

    waited_s: dict[str, float]
    entries: dict[str, int]

    def join(self, part: dict[str, Any], part_type: Any, t_s: float) -> None:
        if part["step"] < len(part_type.tests):
            part["queued"] = (part_type.tests[part["step"]].equipment, t_s)

    def leave(self, part: dict[str, Any], t_s: float) -> None:
        equipment, since_s = part.pop("queued")
        self.waited_s[equipment] = self.waited_s.get(equipment, 0.0) + t_s - since_s
        self.entries[equipment] = self.entries.get(equipment, 0) + 1


def _part_paths(record: Record) -> tuple[dict[str, str], list[str], Queues]:
    """Replay every part's events against its test sequence: final states, missteps, queueing."""
    cert = record.spec.certification
    types = {p.id: p for p in cert.parts}
    parts: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    queues = Queues({}, {})
    steps = ("shipped", "arrived", "test_start", "passed", "failed", "reworked", "rejected", "certificate")
    rows = record.events.loc[record.events["event"].isin(steps), ["t_s", "agent", "event", "detail"]]
    for t_s, agent, event, detail in rows.itertuples(index=False):
        part_type = types.get(agent.rsplit("-", 1)[0])
        if part_type is None:
            errors.append(f"{agent}: no part type of that name")
            continue
        if event == "shipped":
            if agent in parts:
                errors.append(f"{agent}: shipped twice")
            parts[agent] = {"state": "in_transit", "step": 0, "failures": 0}
            continue
        part = parts.get(agent)
        if part is None:
            errors.append(f"{agent}: {event} before it was shipped")
            continue
        error = _advance(part, part_type, event, detail, cert.max_failures)
        if error:
            errors.append(f"{agent}: {error}")
        elif event in ("arrived", "passed", "reworked"):
            queues.join(part, part_type, t_s)
        elif event == "test_start":
            queues.leave(part, t_s)
    for part in parts.values():  # still queueing at the end: waited until now
        if "queued" in part:
            queues.leave(part, record.summary["simulated_s"])
    return {name: p["state"] for name, p in parts.items()}, errors, queues


def _advance(part: dict[str, Any], part_type: Any, event: str, detail: str, max_failures: int) -> str | None:
    """Move one part through one event; the reason if the event is not allowed there."""
    state, step = part["state"], part["step"]
    expected = part_type.tests[step].name if step < len(part_type.tests) else None
    if event == "arrived" and state == "in_transit":
        part["state"] = "waiting"
    elif event == "test_start" and state == "waiting" and detail.startswith(f"{expected} on "):
        part["state"] = "in_test"
    elif event == "passed" and state == "in_test" and detail == expected:
        part["step"], part["state"] = step + 1, "waiting"
    elif event == "failed" and state == "in_test" and detail == expected:
        part["failures"] += 1
        part["state"] = "rework"
    elif event == "rejected" and state == "rework" and part["failures"] >= max_failures:
        part["state"] = "rejected"
    elif event == "reworked" and state == "rework" and detail == expected and part["failures"] < max_failures:
        part["state"] = "waiting"
    elif event == "certificate" and state == "waiting" and step == len(part_type.tests):
        part["state"] = "certified"
    else:
        return f"{event} {detail!r} while {state} at test {step + 1} ({expected or 'all passed'})"
    return None


def check_parts(record: Record) -> list[Check]:
    """Parts conserved (shipped = certified + rejected + in system) and every path through the procedures."""
    if record.spec.certification is None:
        return [Check(name, "SKIP", "no certification center in this run")
                for name in ("parts_conserved", "part_procedures", "lab_queues")]
    final, errors, queues = _part_paths(record)
    counts = {state: sum(1 for s in final.values() if s == state) for state in (*OPEN_STATES, "certified", "rejected")}
    kpis = record.summary["kpis"]["certification"]
    in_system = sum(counts[s] for s in OPEN_STATES)
    figure = (f"{len(final)} shipped = {counts['certified']} certified + {counts['rejected']} rejected "
              f"+ {in_system} in system")
    differ = [f"{s}: log {counts[s]}, summary {kpis['states'][s]}" for s in counts if counts[s] != kpis["states"][s]]
    if len(final) != kpis["parts_shipped"]:
        differ.append(f"shipped: log {len(final)}, summary {kpis['parts_shipped']}")
    conserved = passed_if(not differ, "parts_conserved", figure + (f" -- {'; '.join(differ)}" if differ else " = summary"))
    tests = int((record.events["event"] == "test_start").sum())
    procedures = passed_if(not errors, "part_procedures",
                           f"{len(final)} parts, {tests} tests replayed, {len(errors)} out of order"
                           + (f" ({'; '.join(errors[:3])})" if errors else ""))
    return [conserved, procedures, _check_queues(record, queues)]


def _check_queues(record: Record, queues: Queues) -> Check:
    """Each equipment's mean queue and mean wait from the log against the summary (Little: L = lambda W)."""
    duration_s = record.summary["simulated_s"]
    equipment = record.summary["kpis"]["certification"]["equipment"]
    differ = []
    for rid, figures in equipment.items():
        waited_s, entries = queues.waited_s.get(rid, 0.0), queues.entries.get(rid, 0)
        queue_mean = waited_s / duration_s if duration_s else 0.0
        wait_h = waited_s / entries / 3600.0 if entries else None
        if abs(queue_mean - figures["queue_mean"]) > 0.0015 or entries != figures["tests_queued"] or (
                (wait_h is None) != (figures["wait_mean_h"] is None)
                or (wait_h is not None and abs(wait_h - figures["wait_mean_h"]) > 0.0015)):
            differ.append(f"{rid}: log queue {queue_mean:.3f}, wait {wait_h} h, {entries} queued; "
                          f"summary {figures['queue_mean']}, {figures['wait_mean_h']} h, {figures['tests_queued']}")
    busiest = max(equipment, key=lambda rid: queues.waited_s.get(rid, 0.0))
    figure = (f"{sum(queues.entries.values())} tests queued at {len(equipment)} equipment types; longest queue "
              f"{busiest} {queues.waited_s.get(busiest, 0.0) / duration_s:.3f} parts on average")
    return passed_if(not differ, "lab_queues", figure + (f" -- {'; '.join(differ[:2])}" if differ else " = summary"))



def check_truck_speed(record: Record) -> list[Check]:
    """No parts truck faster than the scenario's truck speed."""
    if record.tracks is None:
        return [Check("truck_speed_cap", "SKIP", f"no trajectories to check ({record.tracks_missing_why})")]
    cap_mps = record.spec.certification.truck_speed_mps
    return speeds_within_caps(record, "truck_speed_cap", ("truck",), lambda agent: cap_mps)


CHECKS = (check_truck_speed, check_parts)
