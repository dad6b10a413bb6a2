#!/usr/bin/env python3
"""Draws the entropy map of a `glassy sample` run as a PNG.

Usage: .venv/bin/python tools/plot_map.py RUN_DIR [--out FILE]

The picture shows S on the grid (map.npy) where walkers visited (histogram.npy > 0); bins that
no walker visited are left blank, because S is undefined there, not zero. S is shifted so the
lowest visited bin is 0. The equilibrium curves (equilibrium.csv), the studied range (the bias
is zero left of the dashed line) and the walker traces, one colour per starting group, are
drawn over it. A second panel shows the visit histogram on a log scale.
"""
import argparse
import csv
import json
import os
import sys

import numpy as np

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def axis_edges(axis, scale):
    return (axis["lo"] + axis["width"] * np.arange(axis["bins"] + 1)) / scale


def draw_traces(ax, rows, x_name, y_name):
    groups = sorted({row["group"] for row in rows})
    colours = plt.cm.tab10(np.linspace(0, 1, 10))
    for index, group in enumerate(groups):
        walkers = sorted({int(r["walker"]) for r in rows if r["group"] == group})
        for n, walker in enumerate(walkers):
            points = [r for r in rows if int(r["walker"]) == walker]
            ax.plot([float(p[x_name]) for p in points], [float(p[y_name]) for p in points],
                    lw=0.6, alpha=0.7, color=colours[index % 10],
                    label=f"walkers from {group}" if n == 0 else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--out", help="PNG to write (default: RUN_DIR/map.png)")
    args = parser.parse_args()
    run = args.run_dir
    axes = json.load(open(os.path.join(run, "axes.json")))
    entropy = np.load(os.path.join(run, "map.npy"))
    visits = np.load(os.path.join(run, "histogram.npy"))
    if axes["dims"] != 2:
        sys.exit("plot_map.py draws 2-D maps; this run is 1-D (plot map.csv's s against x)")

    visited_entropy = np.where(visits > 0, entropy, np.nan)
    visited_entropy -= np.nanmin(visited_entropy)
    x_edges = axis_edges(axes["x"], 1.0)
    y_edges = axis_edges(axes["y"], axes["y_scale"])
    visited_x = x_edges[:-1][visits.sum(axis=1) > 0]
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)

    mesh = left.pcolormesh(x_edges, y_edges, visited_entropy.T, cmap="viridis", shading="flat")
    figure.colorbar(mesh, ax=left, label="S - min S over visited bins")
    equilibrium = read_csv(os.path.join(run, "equilibrium.csv"))
    left.plot([float(r["x"]) for r in equilibrium], [float(r["y_argmax"]) for r in equilibrium],
              "w.", ms=3, label="equilibrium: argmax S")
    left.plot([float(r["x"]) for r in equilibrium], [float(r["y_mean"]) for r in equilibrium],
              "r-", lw=1, label="equilibrium: e^S-weighted mean")
    traces = read_csv(os.path.join(run, "traces.csv"))
    x_name, y_name = list(traces[0].keys())[3:5] if traces else ("x", "y")
    draw_traces(left, traces, x_name, y_name)
    l0 = axes["bias"]["l0"] if axes["bias"]["beta"] > 0 else None
    for ax in (left, right):
        if l0 is not None:
            ax.axvline(l0, color="k", ls="--", lw=0.8)
        if len(visited_x):
            ax.set_xlim(visited_x.min() - 1, visited_x.max() + 1)
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("ln L_train")
        ax.set_ylabel("smoothed test accuracy")
    left.set_title("entropy map (blank: not visited; dashed: bias starts above L0)")
    left.legend(loc="lower left", fontsize=7)

    counts = np.where(visits > 0, visits, np.nan)
    mesh = right.pcolormesh(x_edges, y_edges, np.log10(counts).T, cmap="magma", shading="flat")
    figure.colorbar(mesh, ax=right, label="log10 visits")
    right.set_title("visit histogram, all walkers")
    out = args.out or os.path.join(run, "map.png")
    figure.savefig(out, dpi=130)
    print(out)


if __name__ == "__main__":
    main()
