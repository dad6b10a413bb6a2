#!/usr/bin/env python3
"""Draw the figures and write the report of a `glassy reproduce` directory.

Usage: .venv/bin/python tools/plot_reproduction.py DIR

`glassy analyze DIR` runs this after it writes DIR/analysis/. The tool reads
DIR/analysis/analysis.json, the files that its "maps" entries name (entropy.npy,
equilibrium.csv, adamw.csv, advantage.csv, barrier_path.csv), analysis/steps_to_generalize.csv
and each train part's DIR/parts/<name>/metrics.csv. It writes DIR/figures/<name>.png and .svg,
then DIR/report.md and DIR/report.html, which refer to the figures by relative path.

Figures: the entropy map of each map or shell part, and the shell maps side by side. The
high-entropy advantage per ln L_train bin. The AdamW training curves, with fixed-norm and WanD
beside AdamW, and test accuracy against weight norm. The hybrid's steps to 95% test accuracy
against train fraction. A figure whose data is absent (a part not run, or left out by --only)
is not drawn, and a note on stderr and in the report gives the reason.

reproduction_data.py reads DIR and formats numbers, and reproduction_report.py builds
report.md and report.html. This script imports both from its own folder, which Python puts
first on sys.path when it runs a script, except under -I, -P or PYTHONSAFEPATH.

Output is deterministic: the same DIR, or a copy of it elsewhere, gives byte-identical
report.md and report.html, and with the same matplotlib version identical PNG and SVG files.

Before it draws, the tool removes every *.png and *.svg file directly inside DIR/figures, so
that no figure from an earlier analysis of a fuller directory stays. Other files there stay.

Exit status: 0 on success; 2 when analysis.json is missing or is not valid JSON, or when
DIR/figures is not a directory or its old figures cannot be removed.
"""
import argparse
import math
import os
import re

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import patheffects  # noqa: E402

from reproduction_data import (FigureRecord, Reproduction, axis_centres,  # noqa: E402
                               axis_edges, break_at, colour_scale_bins, column_gaps, format_pm,
                               hybrid_series, load_analysis, load_entropy, load_metrics,
                               lone_columns, not_analysed_reason, optimizer_groups,
                               optional_columns, plural, remove_old_figures, role_label,
                               seed_mean, studied_x_max, visited_limits)
from reproduction_report import build_document, render_html, render_markdown  # noqa: E402

DPI = 150
ENTROPY_CMAP = "viridis"
# Visited S between these percentiles spans the colour scale, and bins outside it saturate.
COLOUR_PERCENTILES = (1.0, 99.0)
# `glassy analyze` takes the barrier band and the advantage summary from bins below this ln L.
LOW_LOSS_X = -4.0
ROLE_COLOURS = {"adamw": "#1f77b4", "fixed-norm": "#2ca02c", "wand": "#d62728",
                "adamw-frac": "#1f77b4", "hybrid": "#9467bd"}
TRAIN_COLOUR = "#1f77b4"
TEST_COLOUR = "#d62728"
OUTLINE_WHITE = [patheffects.Stroke(linewidth=3.2, foreground="white"), patheffects.Normal()]
OUTLINE_BLACK = [patheffects.Stroke(linewidth=3.0, foreground="black"), patheffects.Normal()]

plt.rcParams.update({
    "svg.hashsalt": "glassy-plot-reproduction",
    "svg.fonttype": "path",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.titlesize": 11,
    "legend.fontsize": 7.5,
    "savefig.dpi": DPI,
})


# ---------------------------------------------------------------- figure output

def save_figure(context, figure, name, title, caption):
    """Write figures/<name>.png and .svg without timestamps and record the caption."""
    directory = os.path.join(context.root, "figures")
    os.makedirs(directory, exist_ok=True)
    figure.savefig(os.path.join(directory, name + ".png"), dpi=DPI,
                   metadata={"Software": None})
    figure.savefig(os.path.join(directory, name + ".svg"), dpi=DPI,
                   metadata={"Date": None})
    plt.close(figure)
    context.figures.append(FigureRecord(name, title, caption))


def file_stem(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


# ---------------------------------------------------------------- entropy maps

def colour_limits(entropy, x_centres, x_max):
    """Return (vmin, vmax), percentiles of S over the bins that colour_scale_bins() selects."""
    bins, _ = colour_scale_bins(entropy, x_centres, x_max)
    low, high = np.percentile(entropy[bins], COLOUR_PERCENTILES)
    if high <= low:
        high = low + 1.0
    return float(low), float(high)


def draw_entropy(ax, context, entry, entropy):
    """Draw S with unvisited bins blank, zoom to the visited bins and return the mesh."""
    x_edges, y_edges = axis_edges(entry["x"]), axis_edges(entry["y"])
    vmin, vmax = colour_limits(entropy, axis_centres(entry["x"]), studied_x_max(context, entry))
    ax.set_facecolor("white")
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(entropy.T), cmap=ENTROPY_CMAP,
                         vmin=vmin, vmax=vmax, shading="flat", rasterized=True)
    xlim, ylim = visited_limits(entropy, x_edges, y_edges)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("ln L_train  (L_train: cross-entropy, nats)")
    ax.set_ylabel("smoothed test accuracy (fraction)")
    return mesh


# (column of equilibrium.csv, line style, dot size for a column without visited neighbours).
# The argmax line is wider than the mean line so that both stay visible where they agree.
EQUILIBRIUM_STYLES = (
    ("y_argmax", {"ls": "-", "color": "#e41a1c", "lw": 2.6, "label": "equilibrium: argmax S",
                  "path_effects": [patheffects.Stroke(linewidth=4.2, foreground="white"),
                                   patheffects.Normal()]}, 5.0),
    ("y_mean", {"ls": "--", "color": "#ffd21f", "lw": 0.9,
                "label": "equilibrium: e^S-weighted mean",
                "path_effects": [patheffects.Stroke(linewidth=1.9, foreground="black"),
                                 patheffects.Normal()]}, 2.5),
)


def draw_equilibrium(ax, context, entry):
    """Draw the equilibrium curves, broken across x columns without visits.

    A column whose neighbours both lack visits has no line to either side, so it gets a dot.
    """
    columns = optional_columns(context, entry, "equilibrium", "equilibrium curves")
    if not columns or "x" not in columns:
        return
    gaps = column_gaps(columns["x"], entry["x"])
    lone = lone_columns(gaps, columns["x"].size)
    for name, style, dot_size in EQUILIBRIUM_STYLES:
        ax.plot(break_at(columns["x"], gaps), break_at(columns[name], gaps), **style)
        if lone.size:
            ax.plot(columns["x"][lone], columns[name][lone], ls="none", marker="o", ms=dot_size,
                    color=style["color"], path_effects=style["path_effects"])


def draw_binned(ax, columns, y_name, se_name, style):
    """Draw a per-bin curve as points with error bars, joined only across adjacent bins.

    A missing se (NaN, from a bin with one seed or walker) draws no error bar.
    """
    x_lo, x_hi, y = columns["x_lo"], columns["x_hi"], columns[y_name]
    centres = 0.5 * (x_lo + x_hi)
    gap_after = np.nonzero(~np.isclose(x_lo[1:], x_hi[:-1]))[0] + 1
    ax.plot(break_at(centres, gap_after), break_at(y, gap_after), "-",
            color=style["color"], lw=1.0, path_effects=style.get("path_effects"))
    errors = np.nan_to_num(columns[se_name], nan=0.0)
    container = ax.errorbar(centres, y, yerr=errors, fmt="o", ms=3.5, capsize=2,
                            elinewidth=1.0, **style)
    for collection in container.lines[2]:
        collection.set_path_effects(style.get("path_effects"))


def draw_adamw_bins(ax, context, entry):
    """Draw the compare part's binned AdamW curve and return whether it has any bin."""
    if entry.get("compare") is None:
        return False
    columns = optional_columns(context, entry, "adamw", "AdamW binned curve")
    if not columns or "x_lo" not in columns:
        return False
    draw_binned(ax, columns, "y_mean", "y_se",
                {"color": "black", "mfc": "white", "mec": "black",
                 "path_effects": OUTLINE_WHITE,
                 "label": f"AdamW ({entry['compare']}): mean ± se over seeds"})
    return True


def draw_barrier(ax, context, entry):
    """Draw the barrier path, mark its ends and saddle, and return whether the path was drawn."""
    barrier = entry.get("barrier") or {}
    if barrier.get("value") is None:
        return False
    columns = optional_columns(context, entry, "barrier_path", "barrier path")
    path_drawn = bool(columns) and "x" in columns
    if path_drawn:
        ax.plot(columns["x"], columns["accuracy"], "-", color="#ff4fd8", lw=1.2,
                path_effects=OUTLINE_BLACK, label="widest path M to G")
    marks = (("memorizing_end", "s", "M"), ("generalizing_end", "*", "G"), ("saddle", "X", ""))
    for key, marker, letter in marks:
        point = barrier.get(key)
        if not point:
            continue
        label = {"memorizing_end": "memorizing end M", "generalizing_end": "generalizing end G",
                 "saddle": "saddle (lowest S on the path)"}[key]
        ax.plot(point["x"], point["accuracy"], marker, ms=9 if marker == "*" else 7,
                mfc="white", mec="black", mew=1.2, label=label, zorder=5)
        if letter:
            ax.annotate(letter, (point["x"], point["accuracy"]), xytext=(6, 4),
                        textcoords="offset points", fontsize=9, fontweight="bold",
                        path_effects=OUTLINE_WHITE, zorder=6)
    return path_drawn


EQUILIBRIUM_GAPS = ("Both lines break across columns without visits, and a column between two "
                    "such gaps is a dot.")


def map_title(entry):
    kind = "shell map" if entry.get("role") == "shell" else "entropy map"
    return f"{kind} {entry['name']}: task {entry.get('task')}, d_model {entry.get('d_model')}"


def colour_scale_text(context, entry, entropy):
    """Return which bins set the map's colour scale, as colour_scale_bins() selects them."""
    x_max = studied_x_max(context, entry)
    if math.isinf(x_max):
        return "visited bins"
    _, limited = colour_scale_bins(entropy, axis_centres(entry["x"]), x_max)
    if limited:
        return (f"visited bins with ln L_train ≤ {x_max:g} (right of it S includes the bias "
                "and saturates the colour scale)")
    return (f"all visited bins, because none lies at ln L_train ≤ {x_max:g} where the bias is "
            "zero (so S includes the bias in every bin)")


def adamw_caption(context, entry, adamw_drawn):
    """Return the caption sentence on the AdamW overlay, or None for a map without compare."""
    compare = entry.get("compare")
    if not compare:
        return None
    if adamw_drawn:
        return (f"Black circles: the AdamW trajectories of {compare} binned in 0.5-wide "
                "ln L_train bins, mean ± standard error over seeds.")
    reason = not_analysed_reason(context, compare)
    if reason:
        return (f"No AdamW trajectories are drawn: the AdamW part {compare} was not analysed "
                f"({reason}).")
    return (f"No AdamW trajectories are drawn: the adamw file of {entry['name']} is missing or "
            "has no rows.")


def map_caption(context, entry, entropy, path_drawn, adamw_drawn):
    scale = colour_scale_text(context, entry, entropy)
    barrier = entry.get("barrier") or {}
    parts = [
        f"Entropy S (shifted so the lowest visited bin is 0) of {entry['name']} over ln L_train "
        "and smoothed test accuracy. White bins were never visited, so S is undefined there "
        "(not zero).",
        f"The colour scale spans percentiles {COLOUR_PERCENTILES[0]:g} to "
        f"{COLOUR_PERCENTILES[1]:g} of S over {scale}. "
        "Axes are zoomed to the visited bins.",
        "Wide red line: accuracy of the largest S in each column; thin yellow dashed line: the "
        "e^S-weighted mean accuracy. " + EQUILIBRIUM_GAPS,
    ]
    adamw = adamw_caption(context, entry, adamw_drawn)
    if adamw:
        parts.append(adamw)
    if barrier.get("value") is not None:
        path = ("Pink line: the widest path from the memorizing end M to the generalizing end "
                "G, and X marks its lowest S. " if path_drawn else
                "Squares and stars mark the memorizing end M and the generalizing end G, and X "
                "the saddle (the path file is missing). ")
        parts.append(path + f"Barrier: {barrier.get('statement', '')}.")
    else:
        parts.append("No barrier path is drawn: " + barrier.get("reason", "no barrier value")
                     + ".")
    return " ".join(parts)


def draw_map_figure(context, entry):
    entropy = load_entropy(context, entry)
    if entropy is None:
        return
    figure, ax = plt.subplots(figsize=(8.0, 6.0), constrained_layout=True)
    mesh = draw_entropy(ax, context, entry, entropy)
    figure.colorbar(mesh, ax=ax, extend="both", label="S − min visited S (dimensionless)")
    draw_equilibrium(ax, context, entry)
    adamw_drawn = draw_adamw_bins(ax, context, entry)
    path_drawn = draw_barrier(ax, context, entry)
    title = map_title(entry)
    ax.set_title(title)
    figure.legend(loc="outside lower center", ncols=3)
    save_figure(context, figure, "entropy-" + file_stem(entry["name"]), title,
                map_caption(context, entry, entropy, path_drawn, adamw_drawn))


def draw_shells_figure(context):
    shells = [m for m in context.analysis.get("maps", []) if m.get("role") == "shell"]
    shells.sort(key=lambda m: (m.get("d_model") or 0, m["name"]))
    loaded = [(entry, load_entropy(context, entry)) for entry in shells]
    loaded = [(entry, entropy) for entry, entropy in loaded if entropy is not None]
    if not loaded:
        context.note("no shell map with an entropy file; shell comparison figure skipped")
        return
    figure, axes = plt.subplots(1, len(loaded), figsize=(5.0 * len(loaded), 4.4),
                                constrained_layout=True, squeeze=False)
    for ax, (entry, entropy) in zip(axes[0], loaded):
        mesh = draw_entropy(ax, context, entry, entropy)
        figure.colorbar(mesh, ax=ax, extend="both", label="S − min visited S")
        draw_equilibrium(ax, context, entry)
        ax.set_title(f"{entry['name']}: d_model {entry.get('d_model')}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=2)
    title = "constraint-shell entropy maps by width"
    figure.suptitle(title)
    caption = ("Entropy maps sampled on the constraint shell (weight norm fixed), one per "
               "model width, each with its own colour scale. Each map's S is shifted to its "
               "own lowest visited bin, so values do not compare across widths. White bins "
               "were never visited. "
               "Wide red line: argmax S per column; thin yellow dashed line: the e^S-weighted "
               "mean accuracy. " + EQUILIBRIUM_GAPS)
    save_figure(context, figure, "shells", title, caption)


# ---------------------------------------------------------------- advantage

def advantage_label(entry):
    summary = (entry.get("advantage") or {}).get("argmax")
    if not summary or summary.get("mean") is None:
        return entry["name"]
    return (f"{entry['name']} (mean over {plural(summary.get('bins'), 'low-loss bin')}: "
            f"{format_pm(summary['mean'], summary.get('se'))})")


ADVANTAGE_CAPTION = (
    "Equilibrium accuracy (argmax S, averaged over the map columns in each 0.5-wide ln L_train "
    "bin) minus the AdamW seed-mean accuracy in the same bin, ± the combined standard error "
    "(walker jackknife and seeds). Bins that lack either curve have no point, and the line is "
    "broken across them. The legend gives the mean over the bins left of the dotted line at "
    f"ln L_train = {LOW_LOSS_X:g}, and a map without such a bin has no mean there.")


def draw_advantage_figure(context):
    figure, ax = plt.subplots(figsize=(7.5, 4.6), constrained_layout=True)
    drawn = 0
    for entry in context.analysis.get("maps", []):
        if entry.get("compare") is None:
            continue
        columns = optional_columns(context, entry, "advantage", "advantage curve")
        if not columns or "advantage" not in columns or columns["advantage"].size == 0:
            continue
        colour = plt.cm.tab10(drawn % 10)
        draw_binned(ax, columns, "advantage", "advantage_se",
                    {"color": colour, "label": advantage_label(entry)})
        drawn += 1

    if not drawn:
        plt.close(figure)
        context.note("no map has an advantage curve; advantage figure skipped")
        return
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.axvline(LOW_LOSS_X, color="grey", lw=0.8, ls=":")
    ax.annotate("summary bins ←", (LOW_LOSS_X, 0.0), xycoords=("data", "axes fraction"),
                xytext=(-4, 4), textcoords="offset points", ha="right", fontsize=7.5,
                color="dimgrey")
    ax.set_xlabel("ln L_train, bin centre (0.5-wide bins)")
    ax.set_ylabel("equilibrium − AdamW test accuracy (fraction)")
    title = "high-entropy advantage at equal training loss"
    ax.set_title(title)
    ax.legend(loc="best")
    save_figure(context, figure, "advantage", title, ADVANTAGE_CAPTION)


# ---------------------------------------------------------------- training curves

def draw_curves(ax, curves, title):
    """Draw train and test accuracy per seed (thin) and their seed mean (thick), step > 0."""
    for column, colour, name in (("train_acc", TRAIN_COLOUR, "train"),
                                 ("test_acc", TEST_COLOUR, "test")):
        for curve in curves:
            positive = curve["step"] > 0
            ax.plot(curve["step"][positive], curve[column][positive], color=colour, lw=0.6,
                    alpha=0.35)
        steps, mean = seed_mean(curves, column)
        positive = steps > 0
        ax.plot(steps[positive], mean[positive], color=colour, lw=2.0,
                label=f"{name} accuracy, mean of {len(curves)} "
                f"seed{'s' if len(curves) != 1 else ''}")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training step (log scale)")
    ax.set_ylabel("accuracy (fraction)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)


def draw_curve_panels(context, names, stem, title, caption):
    panels = [(name, load_metrics(context, name)) for name in names]
    panels = [(name, curves) for name, curves in panels if curves]
    if not panels:
        return False
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.6 * rows),
                                constrained_layout=True, squeeze=False, sharey=True)
    for ax, (name, curves) in zip(axes.flat, panels):
        entry = context.training(name) or {}
        draw_curves(ax, curves, f"{name}: {role_label(entry.get('role'))}, "
                    f"{entry.get('task')}")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="lower right")
    figure.suptitle(title)
    save_figure(context, figure, stem, title, caption)
    return True


CURVES_CAPTION = (
    "Hard train (blue) and test (red) accuracy from metrics.csv against training step on a "
    "log axis; thin lines are single seeds, thick lines their mean over the seeds that have a "
    "row at that step. Step 0 is not drawn on the log axis. A line that ends early belongs to "
    "a run that stopped there (diverged or interrupted).")


def draw_training_figures(context):
    training = context.analysis.get("training", [])
    adamw = [t["name"] for t in training if t.get("role") == "adamw"]
    if not adamw or not draw_curve_panels(
            context, adamw, "training-adamw", "AdamW training curves, one panel per task",
            CURVES_CAPTION + " One panel per AdamW task: grokking shows as test accuracy "
            "rising long after train accuracy."):
        context.note("no AdamW part with metrics.csv; AdamW training-curve figure skipped")
    for base, others in optimizer_groups(context):
        names = [base] + others
        title = f"fixed-norm and WanD against AdamW ({base})"
        caption = (CURVES_CAPTION + f" Panels: {', '.join(names)}, the same task and split, "
                   "to compare the delay between train and test accuracy.")
        if not draw_curve_panels(context, names, "optimizers-" + file_stem(base), title,
                                 caption):
            context.note(f"{base}: no metrics.csv for the optimizer comparison; skipped")
        draw_norm_figure(context, names)


NORM_CAPTION = (
    "Trajectories of hard test accuracy against the global weight norm from metrics.csv, one "
    "line per seed. Hollow circles mark step 0 and filled circles the last step. Fixed-norm "
    "runs start at the initialization's norm at step 0. Their rescaling applies after every "
    "step, so from step 1 on they stay on a vertical line at their fixed norm, and the line "
    "joins the step-0 point to the first evaluation after it. A part without metrics.csv has "
    "no line.")


def draw_norm_trajectories(ax, context, name):
    """Draw one part's test accuracy against weight norm, or return False without its metrics."""
    curves = load_metrics(context, name)
    if not curves:
        return False
    role = (context.training(name) or {}).get("role")
    colour = ROLE_COLOURS.get(role, "black")
    for index, curve in enumerate(curves):
        label = f"{role_label(role)} ({name}), one line per seed" if index == 0 else None
        ax.plot(curve["weight_norm"], curve["test_acc"], color=colour, lw=0.8, alpha=0.6,
                label=label)
        ax.plot(curve["weight_norm"][-1], curve["test_acc"][-1], "o", color=colour, ms=4)
        ax.plot(curve["weight_norm"][0], curve["test_acc"][0], "o", mfc="white", mec=colour,
                ms=4)
    return True


def draw_norm_figure(context, names):
    figure, ax = plt.subplots(figsize=(7.2, 4.6), constrained_layout=True)
    drawn = [name for name in names if draw_norm_trajectories(ax, context, name)]
    if not drawn:
        plt.close(figure)
        return
    ax.set_xlabel("global weight norm (L2 over all parameters)")
    ax.set_ylabel("test accuracy (fraction)")
    ax.set_ylim(-0.02, 1.02)
    title = f"test accuracy against weight norm ({', '.join(drawn)})"
    ax.set_title(title)
    ax.legend(loc="best")
    save_figure(context, figure, "norm-" + file_stem(drawn[0]), title, NORM_CAPTION)


# ---------------------------------------------------------------- hybrid comparison

def draw_steps_points(ax, frac, entry, colour, ceiling):
    """Draw one part's seeds and mean ± se at x = frac, with unreached seeds hollow at ceiling."""
    steps = [s.get("step_test_95") for s in entry.get("seeds", [])]
    reached = [s for s in steps if s is not None]
    missing = len(steps) - len(reached)
    ax.plot([frac] * len(reached), reached, ".", color=colour, alpha=0.45, ms=5)
    if missing:
        offsets = (np.arange(missing) - (missing - 1) / 2) * 0.006
        ax.plot(frac + offsets, [ceiling] * missing, "o", mfc="none", mec=colour, ms=7, mew=1.3)
    summary = entry.get("summary", {})
    mean = summary.get("step_test_95_mean")
    if mean is not None:
        se = summary.get("step_test_95_se") or 0.0
        ax.errorbar([frac], [mean], yerr=[se], fmt="s", color=colour, ms=7, capsize=4,
                    lw=1.4)


def figure_legend_entries(axes):
    """Return (handles, labels) of all axes, each label once, in the order first drawn."""
    entries = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(label, handle)
    return list(entries.values()), list(entries)


HYBRID_CAPTION = (
    "First step at which hard test accuracy reaches 95%, against the train fraction. Squares: "
    "mean ± standard error over the seeds that reached it; small dots: single seeds. Hollow "
    "circles on the dotted line at the top are seeds that never reached 95% within their "
    "run's steps (they are not in the mean). A train fraction without a marker has no such "
    "part.")


def draw_hybrid_figure(context):
    series = hybrid_series(context)
    if not series:
        context.note("no hybrid part in analysis.json; hybrid comparison figure skipped")
        return
    figure, axes = plt.subplots(1, len(series), figsize=(6.4 * len(series), 5.0),
                                constrained_layout=True, squeeze=False)
    for ax, (task, rows) in zip(axes[0], series.items()):
        draw_hybrid_panel(ax, task, rows)
    handles, labels = figure_legend_entries(axes[0])
    figure.legend(handles, labels, loc="outside lower center", ncols=3)
    caption = HYBRID_CAPTION
    if any(peer for rows in series.values() for _, _, peer in rows):
        title = "steps to 95% test accuracy: hybrid against AdamW"
    else:
        title = "steps to 95% test accuracy: hybrid"
        caption += " No AdamW part at a hybrid's train fraction was analysed, so none is shown."
    figure.suptitle(title)
    save_figure(context, figure, "hybrid", title, caption)


def draw_hybrid_panel(ax, task, rows):
    """Draw one task's hybrid and AdamW steps, with a legend entry for each series drawn."""
    parts = [entry for _, entry, _ in rows] + [peer for _, _, peer in rows if peer]
    ceiling = 1.08 * max(float(p.get("steps") or 0) for p in parts)
    shift = 0.008
    for frac, entry, peer in rows:
        draw_steps_points(ax, frac + shift, entry, ROLE_COLOURS["hybrid"], ceiling)
        if peer:
            draw_steps_points(ax, frac - shift, peer, ROLE_COLOURS["adamw"], ceiling)
    # Empty series carry the legend entries, so that they exist even when no mean is drawn.
    series = [(ROLE_COLOURS["hybrid"], "hybrid, mean ± se")]
    if any(peer for _, _, peer in rows):
        series.append((ROLE_COLOURS["adamw"], "AdamW at the same fraction, mean ± se"))
    for colour, label in series:
        ax.errorbar([], [], yerr=[], fmt="s", color=colour, ms=7, capsize=4, lw=1.4,
                    label=label)
    ax.axhline(ceiling, color="grey", lw=0.8, ls=":")
    ax.annotate("not reached within the run", (0.0, ceiling), xycoords=("axes fraction", "data"),
                xytext=(4, 4), textcoords="offset points", fontsize=7.5, color="dimgrey",
                va="bottom")
    ax.plot([], [], "o", mfc="none", mec="grey", ms=7, label="seed that never reached 95%")
    ax.set_ylim(0, ceiling * 1.06)
    fracs = sorted({frac for frac, _, _ in rows})
    ax.set_xticks(fracs)
    ax.set_xlim(fracs[0] - 0.06, fracs[-1] + 0.06)
    ax.set_xlabel("train fraction (of all p² pairs)")
    ax.set_ylabel("steps to 95% test accuracy (steps)")
    ax.set_title(f"task {task}")


# ---------------------------------------------------------------- main

def draw_all(context):
    maps = context.analysis.get("maps", [])
    if not maps:
        context.note("no map part in analysis.json; entropy-map figures skipped")
    for entry in maps:
        draw_map_figure(context, entry)
    draw_shells_figure(context)
    draw_advantage_figure(context)
    draw_training_figures(context)
    draw_hybrid_figure(context)


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="reproduction directory with analysis/analysis.json")
    args = parser.parse_args()
    context = Reproduction(args.dir, load_analysis(args.dir))
    remove_old_figures(args.dir)
    if context.analysis.get("format") != 1:
        context.note(f"analysis.json has format {context.analysis.get('format')!r} and this "
                     "tool reads format 1; figures and report may be incomplete")
    draw_all(context)
    title, blocks = build_document(context)
    write_text(os.path.join(args.dir, "report.md"), render_markdown(title, blocks))
    write_text(os.path.join(args.dir, "report.html"), render_html(title, blocks))
    print(os.path.join(args.dir, "report.html"))


if __name__ == "__main__":
    main()
