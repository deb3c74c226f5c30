"""The HTML answer of ``twin design``: the answer and its confidence first, then why.

One paragraph says which configuration is cheapest among those meeting every requirement, at what
confidence, over how many seeds, and which requirement binds (the one with the least room). Then
the Pareto plot of cost against the binding figure for every configuration judged, each with its
one-sided bound, and a table of the configurations. One self-contained file (plots inline).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from gwangju_twin.charts import plt, png_base64
from gwangju_twin.fileio import atomic_write_text  # noqa: E402
from gwangju_twin.kpi_info import label  # noqa: E402

STYLE = ("body{font-family:sans-serif;max-width:1000px;margin:auto}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 8px}.answer{font-size:1.15em;background:#eef6ee;padding:10px}")


def write_design_report(answer: dict[str, Any], target: Path) -> None:
    """Write the report of a finished design (the dict written to design.json) to ``target``."""
    parts = [f"<h1>Design: {html.escape(answer['design'])}</h1>",
             f"<p class='answer'>{html.escape(answer_paragraph(answer))}</p>",
             f"<p>Command: <code>{html.escape(answer['command'])}</code></p>"]
    if answer["evaluations"]:
        parts.append(f"<img alt='cost against service level' src='data:image/png;base64,{_pareto_plot(answer)}'>")
    parts.append(_table(answer))
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>Design {html.escape(answer['design'])}</title>"
            f"<style>{STYLE}</style></head><body>" + "\n".join(parts) + "</body></html>")
    atomic_write_text(target, page)


def answer_paragraph(answer: dict[str, Any]) -> str:
    """The answer in words: the configuration, the confidence, the seeds, the binding requirement, the effort."""
    effort = answer["effort"]
    how = (f"{answer['method']} judged {effort['configurations']} of {effort['grid_configurations']} configurations "
           f"({effort['runs']} runs on common seeds)")
    confidence = answer["confidence"]
    if answer["best"] is None:
        return (f"No configuration in the ranges meets every requirement ({'; '.join(answer['requirements'])}) "
                f"at one-sided confidence {confidence:g}; {how}.")
    best = answer["best"]
    values = ", ".join(f"{k} = {v}" for k, v in best["params"].items())
    binding = next(c for c in best["checks"] if c["requirement"] == answer["binding"])
    upper = "<" in answer["binding"]
    bound_word = "upper" if upper else "lower"
    bound = binding["upper"] if upper else binding["lower"]
    return (f"The cheapest configuration meeting every requirement is {values} (cost {best['cost']:g}). "
            f"Over {best['seeds']} seeds each requirement holds at one-sided confidence {confidence:g}; the binding "
            f"one is {answer['binding']}: mean {binding['mean']:.4g}, {confidence:.0%} {bound_word} bound {bound:.4g}. "
            f"Every cheaper configuration judged fails a requirement or cannot be shown to meet it. {how}.")


def _pareto_plot(answer: dict[str, Any]) -> str:
    """Cost against the binding figure: every configuration, its one-sided bound, the target, the front."""
    kpi = (answer["binding"] or answer["requirements"][0])
    text_index = answer["requirements"].index(kpi)
    figure, axes = plt.subplots(figsize=(7.5, 4))
    front = {str(p) for p in answer["pareto"]}
    for evaluation in answer["evaluations"]:
        check = evaluation["checks"][text_index]
        if check["mean"] is None:
            continue
        colour = "tab:green" if evaluation["feasible"] else "tab:red"
        bound = check["upper"] if "<" in check["requirement"] else check["lower"]
        axes.plot([evaluation["cost"]] * 2, [check["mean"], bound], color=colour, alpha=0.6)
        marker = "D" if str(evaluation["params"]) in front else "o"
        axes.plot(evaluation["cost"], check["mean"], marker=marker, color=colour, linestyle="none")
    target = float(kpi.split("=")[-1].lstrip("<>")) if "=" in kpi else float(kpi.split("<")[-1].split(">")[-1])
    axes.axhline(target, color="black", linestyle="--", linewidth=1)
    axes.set_xlabel("cost (weighted sum of the varied resources)")
    axes.set_ylabel(label(check_kpi(kpi)))
    axes.set_title("green: meets every requirement; red: does not; dashed: the target\n"
                   f"line: mean to its one-sided {answer['confidence']:.0%} bound; diamond: Pareto front "
                   "(no cheaper configuration has more room)", fontsize=8)
    axes.grid(alpha=0.3)
    return png_base64(figure)


def check_kpi(requirement: str) -> str:
    for op in ("<=", ">=", "<", ">"):
        if op in requirement:
            return requirement.split(op)[0]
    return requirement


def _table(answer: dict[str, Any]) -> str:
    rows = ["<h2>Configurations judged (by cost)</h2><table><tr><th>configuration</th><th>cost</th><th>seeds</th>"
            "<th>meets all</th>" + "".join(f"<th>{html.escape(r)}: mean [one-sided bound]</th>"
                                           for r in answer["requirements"]) + "</tr>"]
    for evaluation in answer["evaluations"]:
        cells = []
        for check in evaluation["checks"]:
            bound = check["upper"] if any(op in check["requirement"] for op in ("<=", "<")) else check["lower"]
            cells.append("no value in some runs" if check["mean"] is None else
                         f"{check['mean']:.4g} [{bound:.4g}] {check['verdict']}")
        shown = ", ".join(f"{k}={v}" for k, v in evaluation["params"].items())
        rows.append(f"<tr><td>{html.escape(shown)}</td><td>{evaluation['cost']:g}</td><td>{evaluation['seeds']}</td>"
                    f"<td>{'yes' if evaluation['feasible'] else 'no'}</td>"
                    + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return "".join(rows) + "</table>"
