"""Build the report of a `glassy reproduce` directory as the text of report.md and report.html.

The report lists the findings (the parts left out of the analysis, steps to generalize,
high-entropy advantage, entropy barrier, optimizer and hybrid comparisons), the figures, tables
of the parts, per-seed steps and comparisons, and each part's resolved config. build_document()
returns it as (kind, payload) blocks, and render_markdown() and render_html() turn the blocks
into each file's text. plot_reproduction.py calls them after it draws the figures.
"""
import html
import json
import os
import re

from reproduction_data import (format_fraction, format_pm, format_seconds, format_stat,
                               format_steps, not_analysed_reason, not_analysed_state, plural,
                               read_rows, role_label)


# ---------------------------------------------------------------- findings

def steps_pm(record, prefix):
    """Format record[prefix_mean] ± record[prefix_se] as whole steps."""
    return format_pm(record.get(prefix + "_mean"), record.get(prefix + "_se"), format_steps)


def generalization_findings(context):
    items = []
    for entry in context.analysis.get("training", []):
        summary = entry.get("summary", {})
        head = (f"{entry['name']} ({role_label(entry.get('role'))}, {entry.get('task')}, "
                f"train fraction {format_fraction(entry.get('train_frac'))})")
        reached, seeds = summary.get("reached_test_95", 0), summary.get("seeds", 0)
        text = f"test accuracy ≥ 95% reached by {reached} of {plural(seeds, 'seed')}"
        if reached:
            text += f" at step {steps_pm(summary, 'step_test_95')}"
        # step_train_99_mean is null only when no seed reached 99% train accuracy.
        train = ("never reached" if summary.get("step_train_99_mean") is None
                 else f"at step {steps_pm(summary, 'step_train_99')}")
        norm = format_pm(summary.get("final_norm_mean"), summary.get("final_norm_se"))
        text += (f"; train accuracy ≥ 99% {train}"
                 f"; final weight norm {norm}"
                 f"; final test accuracy {format_stat(summary.get('final_test_acc_mean'))} "
                 "(mean ± se over seeds).")
        items.append((head, text))
    return items


def missing_advantage_text(context, entry):
    compare = entry.get("compare")
    if compare is None:
        return "no value (no AdamW part to compare with)."
    reason = not_analysed_reason(context, compare)
    if reason:
        return f"no value: the AdamW part {compare} was not analysed ({reason})."
    return "no value (no low-loss ln L_train bin holds both curves)."


def advantage_findings(context):
    items = []
    for entry in context.analysis.get("maps", []):
        advantage = entry.get("advantage")
        if not advantage:
            items.append((entry["name"], missing_advantage_text(context, entry)))
            continue
        texts = []
        for key, name in (("argmax", "argmax S"), ("weighted_mean", "e^S-weighted mean")):
            summary = advantage.get(key) or {}
            texts.append(f"{name}: {format_pm(summary.get('mean'), summary.get('se'))} over "
                         f"{plural(summary.get('bins'), 'bin')}, ln L_train from "
                         f"{format_stat(summary.get('x_lo'))} to "
                         f"{format_stat(summary.get('x_hi'))}")
        items.append((entry["name"], "; ".join(texts) + " (test accuracy, fraction)."))
    return items


def barrier_text(barrier):
    """Format a map's barrier entry, giving the reason for a missing value once."""
    statement = barrier.get("statement")
    reason = barrier.get("reason", "not given")
    if barrier.get("value") is None:
        # `glassy analyze` writes such a statement as "no barrier can be measured: <reason>".
        if statement and reason in statement:
            return f"{statement}."
        text = f"no value: {reason}."
    else:
        maps = plural(barrier.get("jackknife_n"), "leave-one-out map")
        text = (f"B = {format_pm(barrier['value'], barrier.get('se'))} (walker jackknife "
                f"over {maps}).")
    return text + (f" Statement: {statement}." if statement else "")


def barrier_findings(context):
    return [(entry["name"], barrier_text(entry.get("barrier") or {}))
            for entry in context.analysis.get("maps", [])]


def comparison_findings(context, roles):
    items = []
    for row in context.analysis.get("comparisons", []):
        if row.get("role") not in roles:
            continue
        mine = (context.training(row["part"]) or {}).get("summary", {})
        theirs = (context.training(row["compare"]) or {}).get("summary", {})
        compare_steps = format_pm(row.get("compare_step_test_95_mean"),
                                  row.get("compare_step_test_95_se"), format_steps)
        steps = (f"steps to 95% test accuracy {steps_pm(row, 'step_test_95')} against "
                 f"{compare_steps} (speedup {format_stat(row.get('speedup'))})")
        norm = format_pm(row.get("final_norm_mean"), mine.get("final_norm_se"))
        compare_norm = format_pm(row.get("compare_final_norm_mean"), theirs.get("final_norm_se"))
        norms = f"final weight norm {norm} against {compare_norm}"
        head = (f"{row['part']} against {row['compare']}, train fraction "
                f"{format_fraction(row.get('train_frac'))}")
        order = (norms, steps) if row.get("role") != "hybrid" else (steps, norms)
        items.append((head, "; ".join(order) + "."))
    return items


def not_analysed_items(context):
    """Return ("state S", the parts in state S that are in neither "maps" nor "training")."""
    groups = {}
    for part in context.analysis.get("parts", []):
        found = not_analysed_state(context, part.get("name"))
        if found:
            state, description = found
            groups.setdefault(state, (description, []))[1].append(str(part.get("name")))
    return [(f"state {state}", f"{', '.join(names)} ({description}).")
            for state, (description, names) in groups.items()]


# ---------------------------------------------------------------- report tables

def parts_table(context):
    header = ["part", "kind", "role", "task", "train fraction", "d_model", "compare", "state",
              "wall time (s)", "attempts"]
    rows = []
    for part in context.analysis.get("parts", []):
        wall = part.get("wall_seconds")
        rows.append([part.get("name"), part.get("kind"), part.get("role"), part.get("task"),
                     format_fraction(part.get("train_frac")), part.get("d_model"),
                     part.get("compare") or "", part.get("state"),
                     f"{wall:.1f}" if wall is not None else "n/a", part.get("attempts")])
    return header, rows


STEP_COLUMNS = ("seed", "step_train_99", "step_test_95", "delay")


def steps_table(context):
    path = context.path("analysis/steps_to_generalize.csv")
    if not os.path.exists(path):
        context.note("analysis/steps_to_generalize.csv not found; its table left out")
        return None
    rows = read_rows(path)
    if not rows:
        return None
    header = list(rows[0].keys())
    table = []
    for row in rows:
        cells = []
        for column in header:
            value = row[column]
            if value == "":
                reached = column in ("step_train_99", "step_test_95")
                cells.append("never" if reached else "n/a")
            elif column in STEP_COLUMNS:
                cells.append(format_steps(float(value)))
            elif column in ("part", "role", "task", "optimizer"):
                cells.append(value)
            elif column == "train_frac":
                cells.append(format_fraction(float(value)))
            else:
                cells.append(format_stat(float(value)))
        table.append(cells)
    return header, table


def comparisons_table(context):
    rows = []
    for row in context.analysis.get("comparisons", []):
        rows.append([row.get("part"), row.get("compare"), row.get("role"),
                     format_fraction(row.get("train_frac")),
                     format_pm(row.get("step_test_95_mean"), row.get("step_test_95_se"),
                               format_steps),
                     format_pm(row.get("compare_step_test_95_mean"),
                               row.get("compare_step_test_95_se"), format_steps),
                     format_stat(row.get("speedup")), format_stat(row.get("final_norm_mean")),
                     format_stat(row.get("compare_final_norm_mean"))])
    header = ["part", "compare", "role", "train fraction", "steps to 95% test", "compare: steps",
              "speedup (compare / part)", "final norm", "compare: final norm"]
    return (header, rows) if rows else None


# ---------------------------------------------------------------- report document

def machine_text(machine):
    if not isinstance(machine, dict):
        return str(machine)
    pieces = [str(machine.get("cpu", "unknown CPU"))]
    if machine.get("cores") is not None:
        pieces.append(f"{machine['cores']} cores")
    if machine.get("memory_gib") is not None:
        pieces.append(f"{format_stat(machine['memory_gib'])} GiB memory")
    for key in ("os", "backend"):
        if machine.get(key):
            pieces.append(f"{key} {machine[key]}")
    return ", ".join(pieces)


def build_document(context):
    """Return the report as blocks: (kind, payload) tuples rendered to Markdown and HTML."""
    analysis = context.analysis
    title = f"glassy reproduction report: preset {analysis.get('preset')}"
    blocks = [("h1", title), ("items", [
        ("preset", str(analysis.get("preset"))),
        ("command", str(analysis.get("command"))),
        ("glassy version", str(analysis.get("glassy_version"))),
        ("machine", machine_text(analysis.get("machine"))),
        ("wall time of the parts", format_seconds(analysis.get("total_wall_seconds"))),
    ])]
    blocks += findings_blocks(context)
    blocks.append(("h2", "Figures"))
    if not context.figures:
        blocks.append(("p", "No figure was drawn: no part has the data for one."))
    for record in context.figures:
        blocks.append(("figure", record))
    if context.notes:
        blocks.append(("h3", "Left out"))
        blocks.append(("bullets", list(context.notes)))
    blocks += table_blocks(context)
    blocks.append(("h2", "Resolved configs"))
    for part in analysis.get("parts", []):
        config = part.get("config")
        text = (json.dumps(config, indent=2, sort_keys=True) if config is not None
                else "no config.json (the part was not run)")
        blocks.append(("config", (part.get("name"), text)))
    return title, blocks


def findings_blocks(context):
    sections = [
        ("Steps to generalize", generalization_findings(context),
         "no train part in the analysis."),
        ("High-entropy advantage (mean over low-loss bins, ± se)", advantage_findings(context),
         "no map part in the analysis."),
        ("Entropy barrier", barrier_findings(context), "no map part in the analysis."),
        ("Weight norm: WanD and fixed-norm beside AdamW",
         comparison_findings(context, ("wand", "fixed-norm")),
         "no WanD or fixed-norm part with an AdamW peer."),
        ("Hybrid speedups (AdamW steps / hybrid steps to 95% test accuracy)",
         comparison_findings(context, ("hybrid",)), "no hybrid part with an AdamW peer."),
    ]
    blocks = [("h2", "Findings")]
    left_out = not_analysed_items(context)
    if left_out:
        blocks += [("h3", "Not analysed"),
                   ("p", "The analysis left these parts out, so no finding or figure below "
                    "comes from them."),
                   ("items", left_out)]
    for heading, items, empty in sections:
        blocks.append(("h3", heading))
        blocks.append(("items", items) if items else ("p", empty[0].upper() + empty[1:]))
    return blocks


def table_blocks(context):
    blocks = [("h2", "Tables"), ("h3", "Parts"), ("table", parts_table(context))]
    steps = steps_table(context)
    blocks.append(("h3", "Steps to generalize per seed (analysis/steps_to_generalize.csv)"))
    blocks.append(("table", steps) if steps else ("p", "No rows."))
    comparisons = comparisons_table(context)
    if comparisons:
        blocks.append(("h3", "Comparisons"))
        blocks.append(("table", comparisons))
    return blocks


# ---------------------------------------------------------------- Markdown

# Underscores inside words (L_train) are literal in CommonMark, so only the others are escaped.
MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md_escape(text):
    return MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def md_fence(text):
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def render_markdown(title, blocks):
    lines = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + md_escape(payload), ""]
        elif kind == "p":
            lines += [md_escape(payload), ""]
        elif kind == "items":
            lines += [f"- **{md_escape(k)}**: {md_escape(v)}" for k, v in payload] + [""]
        elif kind == "bullets":
            lines += [f"- {md_escape(item)}" for item in payload] + [""]
        elif kind == "figure":
            lines += [f"### {md_escape(payload.title)}", "",
                      f"![{md_escape(payload.title)}](figures/{payload.name}.png)", "",
                      md_escape(payload.caption) + f" ([SVG](figures/{payload.name}.svg))", ""]
        elif kind == "table":
            header, rows = payload
            lines.append("| " + " | ".join(md_escape(h) for h in header) + " |")
            lines.append("|" + "---|" * len(header))
            for row in rows:
                lines.append("| " + " | ".join(md_escape(cell) for cell in row) + " |")
            lines.append("")
        elif kind == "config":
            name, text = payload
            fence = md_fence(text)
            lines += [f"**{md_escape(name)}**", "", fence + "json", text, fence, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------- HTML

HTML_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; line-height: 1.45; color: #222; }
h1, h2, h3 { line-height: 1.2; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2rem; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.9rem; color: #444; margin-top: 0.4rem; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 0.5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.5rem; text-align: left; }
th { background: #f2f2f2; }
tr:nth-child(even) td { background: #fafafa; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
details { margin: 0.3rem 0; }
summary { cursor: pointer; font-family: monospace; }
"""


def escape(text):
    return html.escape(str(text), quote=True)


def html_table(header, rows):
    lines = ["<table>", "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header)
             + "</tr></thead>", "<tbody>"]
    for row in rows:
        lines.append("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def html_figure(record):
    return [f'<figure id="{escape(record.name)}">',
            f"<h3>{escape(record.title)}</h3>",
            f'<a href="figures/{escape(record.name)}.png">'
            f'<img src="figures/{escape(record.name)}.svg" alt="{escape(record.title)}"></a>',
            f"<figcaption>{escape(record.caption)}</figcaption>", "</figure>"]


def render_html(title, blocks):
    lines = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{escape(title)}</title>", "<style>" + HTML_STYLE + "</style>", "</head>",
             "<body>"]
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            lines.append(f"<{kind}>{escape(payload)}</{kind}>")
        elif kind == "p":
            lines.append(f"<p>{escape(payload)}</p>")
        elif kind == "items":
            lines += ["<ul>"] + [f"<li><b>{escape(k)}</b>: {escape(v)}</li>"
                                 for k, v in payload] + ["</ul>"]
        elif kind == "bullets":
            lines += ["<ul>"] + [f"<li>{escape(item)}</li>" for item in payload] + ["</ul>"]
        elif kind == "figure":
            lines += html_figure(payload)
        elif kind == "table":
            lines += html_table(*payload)
        elif kind == "config":
            name, text = payload
            lines += [f"<details><summary>{escape(name)}</summary>",
                      f"<pre><code>{escape(text)}</code></pre>", "</details>"]
    lines += ["</body>", "</html>"]
    return "\n".join(lines) + "\n"
