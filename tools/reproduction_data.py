"""Read a `glassy reproduce` directory and format its numbers for the figures and the report.

Reproduction is the context that the figure and report functions take. It stores
analysis.json, the figures written so far and the notes on what was left out. The readers
load analysis.json, the map CSV and entropy.npy files and each train part's metrics.csv. The
format_* functions and role_label() turn statistics, steps, train fractions, durations and
part roles into the text of figure labels and the report.
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


# ---------------------------------------------------------------- reading

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
    print(f"{PROGRAM}: {message}", file=sys.stderr)
    sys.exit(2)


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
