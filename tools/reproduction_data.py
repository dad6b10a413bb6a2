"""Read a `glassy reproduce` directory and format its numbers for the figures and the report.

Reproduction is the context that the figure and report functions take. It stores
analysis.json, the figures written so far and the notes on what was left out, and
not_analysed_reason() gives why `glassy analyze` left a part out. The readers load
analysis.json, the map CSV and entropy.npy files and each train part's metrics.csv, and
remove_old_figures() clears DIR/figures of the PNG and SVG files of an earlier run. The map
axis helpers, seed_mean() and the part groupings prepare the numbers that the figures draw.
The format_* functions, plural() and role_label() turn statistics, counts, steps, train
fractions, durations and part roles into the text of figure labels and the report.
"""
import csv
import json
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

# Prefix of the notes and errors that this module prints on stderr.
PROGRAM = "plot_reproduction.py"
ROLE_LABELS = {"adamw": "AdamW", "fixed-norm": "fixed-norm AdamW", "wand": "WanD",
               "adamw-frac": "AdamW", "hybrid": "hybrid WanD/AdamW"}
# `glassy analyze` analyses only parts whose state is "done" (or "unknown"). The report explains
# each other state with its description here when it lists the parts left out.
STATE_DESCRIPTIONS = {"skipped": "outside --only, not run", "pending": "not run yet",
                      "running": "still running", "interrupted": "stopped before it finished",
                      "failed": "the run failed"}


@dataclass
class FigureRecord:
    """One written figure: its file stem under figures/, its title and its report caption."""
    name: str
    title: str
    caption: str


@dataclass
class Reproduction:
    """The analysis of one reproduction directory and what has been written from it."""
    root: str
    analysis: dict
    figures: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    metrics_cache: dict = field(default_factory=dict)

    def note(self, message):
        """Record a left-out figure or overlay, once, for stderr and the report."""
        if message in self.notes:
            return
        self.notes.append(message)
        print(f"{PROGRAM}: {message}", file=sys.stderr)

    def path(self, relative):
        return os.path.join(self.root, *relative.split("/"))

    def part(self, name):
        return next((p for p in self.analysis.get("parts", []) if p.get("name") == name), None)

    def training(self, name):
        entries = self.analysis.get("training", [])
        return next((t for t in entries if t.get("name") == name), None)

    def analysed(self, name):
        """Return whether part `name` has an entry in analysis.json's "maps" or "training"."""
        maps = self.analysis.get("maps", [])
        return self.training(name) is not None or any(m.get("name") == name for m in maps)


def not_analysed_state(context, name):
    """Return (state, description) of a part that `glassy analyze` left out, or None.

    The state is None for a name that analysis.json's "parts" does not list.
    """
    if context.analysed(name):
        return None
    part = context.part(name)
    if part is None:
        return None, "not in analysis.json's parts"
    state = part.get("state")
    return state, STATE_DESCRIPTIONS.get(state, "files missing or incomplete")


def not_analysed_reason(context, name):
    """Return why `glassy analyze` left part `name` out, or None when it analysed the part."""
    found = not_analysed_state(context, name)
    if found is None:
        return None
    state, description = found
    return description if state is None else f"state {state}: {description}"


# ---------------------------------------------------------------- reading

def exit_with_error(message):
    print(f"{PROGRAM}: {message}", file=sys.stderr)
    sys.exit(2)


def remove_old_figures(root):
    """Remove the *.png and *.svg files in root/figures, or exit 2 when that is no directory.

    This run writes every figure that it draws again, so only figures that it does not draw
    disappear. Subdirectories and other files stay.
    """
    directory = os.path.join(root, "figures")
    if not os.path.lexists(directory):
        return
    if not os.path.isdir(directory):
        exit_with_error(f"{directory} exists and is not a directory; remove or rename it and "
                        "run again")
    try:
        for name in sorted(os.listdir(directory)):
            path = os.path.join(directory, name)
            if name.endswith((".png", ".svg")) and not os.path.isdir(path):
                os.remove(path)
    except OSError as error:
        exit_with_error(f"cannot remove the old figures in {directory} ({error}); fix its "
                        "permissions and run again")


def load_analysis(root):
    """Return analysis.json as a dict, or exit with status 2 when it is missing or invalid."""
    path = os.path.join(root, "analysis", "analysis.json")
    try:
        with open(path) as handle:
            analysis = json.load(handle)
        if isinstance(analysis, dict):
            return analysis
        message = f"{path} is not a JSON object; run `glassy analyze {root}` again"
    except FileNotFoundError:
        message = f"{path} not found; run `glassy analyze {root}` first"
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        message = f"{path} is not valid JSON ({error}); run `glassy analyze {root}` again"
    exit_with_error(message)


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def to_float(text):
    return float(text) if text not in ("", None) else math.nan


def read_columns(path):
    """Read a CSV with a header into {column: float array}. Empty fields become NaN."""
    rows = read_rows(path)
    names = rows[0].keys() if rows else []
    return {name: np.array([to_float(row[name]) for row in rows]) for name in names}


def optional_columns(context, entry, key, purpose):
    """Read the map file named files[key], or note why `purpose` is left out and return None."""
    relative = entry.get("files", {}).get(key)
    if relative is None:
        context.note(f"{entry['name']}: no {key} file in analysis.json; {purpose} left out")
        return None
    if not os.path.exists(context.path(relative)):
        context.note(f"{entry['name']}: {relative} not found; {purpose} left out")
        return None
    return read_columns(context.path(relative))


def load_metrics(context, name):
    """Return a train part's metrics.csv as a list of per-replica column dicts, or None."""
    if name in context.metrics_cache:
        return context.metrics_cache[name]
    relative = f"parts/{name}/metrics.csv"
    curves = None
    if os.path.exists(context.path(relative)):
        columns = read_columns(context.path(relative))
        if columns:
            curves = split_replicas(columns)
    if curves is None:
        context.note(f"{name}: {relative} not found or empty; its training curves left out")
    context.metrics_cache[name] = curves
    return curves


def split_replicas(columns):
    curves = []
    for replica in np.unique(columns["replica"]):
        rows = columns["replica"] == replica
        order = np.argsort(columns["step"][rows], kind="stable")
        curves.append({name: values[rows][order] for name, values in columns.items()})
    return curves


def load_entropy(context, entry):
    relative = entry.get("files", {}).get("entropy")
    if relative is None or not os.path.exists(context.path(relative)):
        context.note(f"{entry['name']}: entropy file {relative} not found; map figure skipped")
        return None
    entropy = np.load(context.path(relative))
    if not np.isfinite(entropy).any():
        context.note(f"{entry['name']}: {relative} has no visited bin; map figure skipped")
        return None
    return entropy


# ---------------------------------------------------------------- map axes and part groups

def axis_edges(axis):
    edges = axis["lo"] + axis["width"] * np.arange(axis["bins"] + 1)
    return edges / axis.get("scale", 1.0)


def axis_centres(axis):
    edges = axis_edges(axis)
    return 0.5 * (edges[:-1] + edges[1:])


def studied_x_max(context, entry):
    """Return L0 when the map part's bias is on (S includes beta (x - L0)^2 above L0), else inf."""
    config = (context.part(entry["name"]) or {}).get("config") or {}
    beta, l0 = config.get("beta"), config.get("l0")
    if isinstance(beta, (int, float)) and beta > 0 and isinstance(l0, (int, float)):
        return float(l0)
    return math.inf


def colour_scale_bins(entropy, x_centres, x_max):
    """Return (mask of the bins whose S sets the colour scale, whether x <= x_max limits it).

    The visited bins in the columns at x <= x_max count, or all visited bins when none lies
    there.
    """
    visited = np.isfinite(entropy)
    studied = visited & (x_centres[:, None] <= x_max)
    return (studied, True) if studied.any() else (visited, False)


def visited_limits(entropy, x_edges, y_edges):
    """Return (xlim, ylim), the visited bins' extent plus a margin, clipped to the grid."""
    columns = np.nonzero(np.isfinite(entropy).any(axis=1))[0]
    rows = np.nonzero(np.isfinite(entropy).any(axis=0))[0]
    x_lo, x_hi = x_edges[columns[0]], x_edges[columns[-1] + 1]
    y_lo, y_hi = y_edges[rows[0]], y_edges[rows[-1] + 1]
    x_margin = max(0.5, 0.04 * (x_hi - x_lo))
    y_margin = max(0.03, 0.04 * (y_hi - y_lo))
    return ((max(x_lo - x_margin, x_edges[0]), min(x_hi + x_margin, x_edges[-1])),
            (max(y_lo - y_margin, y_edges[0]), min(y_hi + y_margin, y_edges[-1])))


def break_at(values, gap_after):
    """Insert NaN before each index in gap_after, so that a plotted line breaks there."""
    return np.insert(np.asarray(values, dtype=float), gap_after, np.nan)


def column_gaps(x, axis):
    """Return the indices i where column x[i] is not the bin right after x[i - 1]'s bin."""
    index = np.rint((np.asarray(x) - axis["lo"]) / axis["width"] - 0.5)
    return np.nonzero(np.diff(index) != 1)[0] + 1


def lone_columns(gaps, count):
    """Return the indices of the columns with a gap on both sides, given column_gaps(x)."""
    starts = np.concatenate(([0], gaps))
    ends = np.concatenate((gaps - 1, [count - 1]))
    return np.intersect1d(starts, ends)


def seed_mean(curves, column):
    """Return (steps, mean over the replicas that have a row at each step)."""
    steps = np.unique(np.concatenate([c["step"] for c in curves]))
    table = np.full((len(curves), steps.size), np.nan)
    for row, curve in enumerate(curves):
        table[row, np.searchsorted(steps, curve["step"])] = curve[column]
    counts = np.isfinite(table).sum(axis=0)
    totals = np.nansum(table, axis=0)
    return steps, totals / np.maximum(counts, 1)


def optimizer_groups(context):
    """Return [(AdamW part, [fixed-norm and WanD parts that compare with it])]."""
    groups = {}
    for entry in context.analysis.get("training", []):
        if entry.get("role") in ("fixed-norm", "wand"):
            compare = (context.part(entry["name"]) or {}).get("compare")
            if compare and context.training(compare):
                groups.setdefault(compare, []).append(entry["name"])
    if not groups:
        context.note("no fixed-norm or WanD part with an AdamW peer; comparison figures skipped")
    return [(base, groups[base]) for base in sorted(groups)]


def hybrid_series(context):
    """Return {task: [(train_frac, hybrid entry, AdamW peer entry or None)]} sorted by frac."""
    series = {}
    for entry in context.analysis.get("training", []):
        if entry.get("role") != "hybrid":
            continue
        compare = (context.part(entry["name"]) or {}).get("compare")
        peer = context.training(compare) if compare else None
        series.setdefault(entry.get("task"), []).append(
            (float(entry.get("train_frac") or 0.0), entry, peer))
    for rows in series.values():
        rows.sort(key=lambda row: (row[0], row[1]["name"]))
    return {task: series[task] for task in sorted(series, key=str)}


# ---------------------------------------------------------------- formatting

def format_stat(value):
    """Format a statistic to 3 significant digits without an exponent when it fits."""
    if value is None or not math.isfinite(value):
        return "n/a"
    rounded = float(f"{value:.3g}")
    if rounded == 0:
        return "0"
    # The exponent of the rounded value, so that 0.9999 gives 1.00 and not 1.000.
    exponent = math.floor(math.log10(abs(rounded)))
    if exponent < -4 or exponent >= 6:
        return f"{value:.2e}"
    return f"{rounded:.{max(2 - exponent, 0)}f}"


def format_fraction(value):
    return "n/a" if value is None else f"{value:g}"


def format_steps(value):
    if value is None or not math.isfinite(value):
        return "n/a"
    return str(int(round(value)))


def format_pm(mean, se, formatter=format_stat):
    if mean is None:
        return "n/a"
    return f"{formatter(mean)} ± {formatter(se)}" if se is not None else formatter(mean)


def format_seconds(seconds):
    if seconds is None:
        return "n/a"
    minutes, rest = divmod(float(seconds), 60.0)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{seconds:.1f} s ({hours} h {minutes} min)"
    return f"{seconds:.1f} s ({minutes} min {rest:.0f} s)" if minutes else f"{seconds:.1f} s"


def role_label(role):
    return ROLE_LABELS.get(role, role)


def plural(count, noun):
    """Format a count with its noun: "1 bin", "2 bins", or "n/a bins" for an unknown count."""
    if count is None:
        return f"n/a {noun}s"
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
