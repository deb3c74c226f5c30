"""What a flat KPI path means, from the metadata the service plug-ins state (:class:`plugins.Kpi`).

A flat path is ``SERVICE_ID.figure`` (``on_demand.rejection_rate``, ``certification.equipment.rig.wait_mean_h``).
Services of a kind usually carry its name as their id; where the id is another name, the figure is
looked up in every kind's metadata. A figure no plug-in describes gets ``None``: the design command
then takes the direction from the requirement's operator, and the report says the unit is unknown.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from gwangju_twin.errors import TwinError


def _all_meta() -> list[tuple[str, dict[str, Any]]]:
    """``(kind, {figure: Kpi})`` of every registered plug-in kind (none when no plug-in states any)."""
    from gwangju_twin import plugins

    try:
        found = plugins.plugins()
    except TwinError:
        return []
    return [(kind, dict(plugin.kpi_meta(kind))) for plugin in found if isinstance(plugin, plugins.ServicePlugin)
            for kind in plugins.plugin_kinds(plugin)]


def describe_kpi(path: str) -> dict[str, Any] | None:
    """The unit, better direction, service-level flag and labels of ``path``, or None if unstated."""
    service, _, figure = path.partition(".")
    every = _all_meta()
    ordered = sorted(every, key=lambda item: item[0] != service)  # the kind named like the service first
    for kind, meta in ordered:
        for key in (figure, path):
            if key in meta:
                return {"kind": kind, **asdict(meta[key])}
    return None


def better(path: str) -> str | None:
    """``"lower"``, ``"higher"`` or None (unstated, or neither)."""
    meta = describe_kpi(path)
    return None if meta is None else meta.get("better")


def label(path: str) -> str:
    """The figure's English label with its unit (values as they are: a share stays a share), or the path itself."""
    meta = describe_kpi(path)
    if meta is None or not meta.get("label_en"):
        return path
    unit = meta.get("unit", "")
    if unit == "1":
        return f"{meta['label_en']} (share)" if meta.get("percent") else meta["label_en"]
    return f"{meta['label_en']} ({unit})" if unit else meta["label_en"]
