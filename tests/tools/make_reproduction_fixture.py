#!/usr/bin/env python3
"""Write a synthetic `glassy reproduce` directory for testing tools/plot_reproduction.py.

Usage: python tests/tools/make_reproduction_fixture.py DIR [--only PART,PART,...]

DIR gets reproduce.json, status.json, the train parts' config.json, summary.json and
metrics.csv, the sample parts' config.json, and DIR/analysis/ in the layout that
`glassy analyze DIR` writes. The numbers are synthetic but shaped like real runs. AdamW
memorizes first and generalizes later, and some seeds never reach 95% test accuracy. WanD's
weight norm grows to about 175. Each 2-D map has a memorizing and a generalizing basin with
unvisited bins (NaN) around and between them. Standard errors that `glassy analyze` takes from
the walker jackknife are made up here. The map part map-cubic is interrupted, so, as
`glassy analyze` does with every part whose state is not done, the fixture lists it in
analysis.json's "parts" and leaves it out of "maps". The output depends only on the arguments.
"""
import argparse
import heapq
import json
import math
import os

import numpy as np

STEPS = 4000
EVAL_EVERY = 10
SEEDS = (0, 1, 2)
METRICS_COLUMNS = ("step,replica,train_loss,log_train_loss,train_acc,test_loss,test_acc,"
                   "smooth_test_acc,weight_norm,lr")
X_AXIS = {"lo": -18.0, "width": 0.1, "bins": 200}
Y_AXIS = {"lo": -0.1, "width": 0.02, "bins": 60, "scale": 1.0}
BIAS_L0 = -4.0
BIAS_BETA = 300.0
BAND_X_MAX = -4.0

# grok_step: the step where test accuracy passes half its rise, or None to keep it at chance.
# never: replicas whose test accuracy stops below 95%. norm: the weight-norm trajectory.
TRAIN_PARTS = [
    {"name": "adamw-add", "role": "adamw", "task": "x+y", "frac": 0.5, "compare": None,
     "optimizer": "adamw", "grok_step": 1800, "never": (), "norm": "decay"},
    {"name": "adamw-x2y", "role": "adamw", "task": "x^2+y", "frac": 0.5, "compare": None,
     "optimizer": "adamw", "grok_step": 2500, "never": (2,), "norm": "decay"},
    {"name": "adamw-cubic", "role": "adamw", "task": "x^3+xy^2+y", "frac": 0.5,
     "compare": None, "optimizer": "adamw", "grok_step": None, "never": (0, 1, 2),
     "norm": "decay"},
    {"name": "fixed-norm-add", "role": "fixed-norm", "task": "x+y", "frac": 0.5,
     "compare": "adamw-add", "optimizer": "adamw", "grok_step": 300, "never": (),
     "norm": "fixed"},
    {"name": "wand-add", "role": "wand", "task": "x+y", "frac": 0.5, "compare": "adamw-add",
     "optimizer": "wand", "grok_step": 1400, "never": (), "norm": "grow"},
    {"name": "adamw-frac-x2y-60", "role": "adamw-frac", "task": "x^2+y", "frac": 0.6,
     "compare": None, "optimizer": "adamw", "grok_step": 2000, "never": (1,), "norm": "decay"},
    {"name": "adamw-frac-x2y-70", "role": "adamw-frac", "task": "x^2+y", "frac": 0.7,
     "compare": None, "optimizer": "adamw", "grok_step": 1500, "never": (), "norm": "decay"},
    {"name": "adamw-frac-x2y-80", "role": "adamw-frac", "task": "x^2+y", "frac": 0.8,
     "compare": None, "optimizer": "adamw", "grok_step": 1200, "never": (), "norm": "decay"},
    {"name": "hybrid-x2y-50", "role": "hybrid", "task": "x^2+y", "frac": 0.5,
     "compare": "adamw-x2y", "optimizer": "hybrid", "grok_step": 800, "never": (1,),
     "norm": "hump"},
    {"name": "hybrid-x2y-60", "role": "hybrid", "task": "x^2+y", "frac": 0.6,
     "compare": "adamw-frac-x2y-60", "optimizer": "hybrid", "grok_step": 650, "never": (),
     "norm": "hump"},
    {"name": "hybrid-x2y-70", "role": "hybrid", "task": "x^2+y", "frac": 0.7,
     "compare": "adamw-frac-x2y-70", "optimizer": "hybrid", "grok_step": 520, "never": (),
     "norm": "hump"},
    {"name": "hybrid-x2y-80", "role": "hybrid", "task": "x^2+y", "frac": 0.8,
     "compare": "adamw-frac-x2y-80", "optimizer": "hybrid", "grok_step": 420, "never": (),
     "norm": "hump"},
]

# gen_offset shifts the log-weight of the generalizing basin. barrier: the dip of S between
# the basins, or None for a gap that no path crosses. A part in INTERRUPTED gets only its
# config.json and its status.
MAP_PARTS = [
    {"name": "map-add", "role": "map", "task": "x+y", "d_model": 32, "compare": "adamw-add",
     "gen_offset": 0.0, "barrier": 1.5},
    {"name": "map-x2y", "role": "map", "task": "x^2+y", "d_model": 32,
     "compare": "adamw-x2y", "gen_offset": -2.0, "barrier": None},
    {"name": "shell-16", "role": "shell", "task": "x+y", "d_model": 16, "compare": None,
     "gen_offset": -3.0, "barrier": 9.0},
    {"name": "shell-32", "role": "shell", "task": "x+y", "d_model": 32, "compare": None,
     "gen_offset": 0.0, "barrier": 2.0},
    {"name": "shell-64", "role": "shell", "task": "x+y", "d_model": 64, "compare": None,
     "gen_offset": 2.0, "barrier": 0.5},
    {"name": "map-cubic", "role": "map", "task": "x^3+xy^2+y", "d_model": 32,
     "compare": "adamw-cubic", "gen_offset": 0.0, "barrier": None},
]
INTERRUPTED = ("map-cubic",)


def write_json(path, value):
    with open(path, "w") as handle:
        json.dump(value, handle, indent=2)
        handle.write("\n")


def format_number(value):
    return "" if value is None else f"{value:.17g}"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def mean_and_se(values):
    if not values:
        return None, None
    array = np.asarray(values, dtype=float)
    se = float(array.std(ddof=1) / math.sqrt(len(array))) if len(array) > 1 else None
    return float(array.mean()), se


def weight_norm_curve(shape, log_step, grok_step, replica):
    centre = math.log(grok_step or 2000)
    spread = 1.0 + 0.03 * (replica - 1)
    if shape == "fixed":
        # The norm is rescaled after every step, so only step 0 has the initialization's norm.
        return np.where(log_step > 0.0, 30.0, 42.0)
    if shape == "grow":
        return 42.0 + 133.0 * spread * sigmoid((log_step - math.log(800)) / 0.6)
    if shape == "hump":
        hump = 30.0 * np.exp(-((log_step - math.log(400)) / 0.9) ** 2)
        return 42.0 + spread * hump - 12.0 * sigmoid((log_step - centre) / 0.5)
    return 42.0 - 17.0 * spread * sigmoid((log_step - centre) / 0.5)


def replica_curves(part, replica, rng):
    """Return the metrics columns of one replica as arrays, one entry per evaluation."""
    step = np.arange(0, STEPS + 1, EVAL_EVERY, dtype=float)
    log_step = np.log(np.maximum(step, 1.0))
    train_step = 120.0 * (1.0 + 0.2 * replica)
    train_acc = sigmoid((log_step - math.log(train_step)) / 0.25)
    log_loss = 1.45 - 17.5 * sigmoid((log_step - math.log(2 * train_step)) / 0.7)
    log_loss = log_loss + rng.normal(0.0, 0.05, step.size)
    if part["grok_step"] is None:
        test_acc = np.full_like(step, 0.015)
    else:
        grok = part["grok_step"] * (1.0 + 0.15 * (replica - 1))
        final = 0.8 if replica in part["never"] else 1.0
        test_acc = 0.02 + (final - 0.02) * sigmoid((log_step - math.log(grok)) / 0.15)
    test_acc = np.clip(test_acc + rng.normal(0.0, 0.004, step.size), 0.0, 1.0)
    smooth = np.empty_like(test_acc)
    smooth[0] = test_acc[0]
    for index in range(1, step.size):
        smooth[index] = 0.9 * smooth[index - 1] + 0.1 * test_acc[index]
    lr = np.where(step > 0, 3e-3, 0.0)
    return {"step": step, "replica": np.full_like(step, replica),
            "train_loss": np.exp(log_loss), "log_train_loss": log_loss, "train_acc": train_acc,
            "test_loss": -2.0 * np.log(np.maximum(test_acc, 0.01)) + 0.01,
            "test_acc": test_acc, "smooth_test_acc": smooth,
            "weight_norm": weight_norm_curve(part["norm"], log_step, part["grok_step"],
                                               replica),
            "lr": lr}


def first_step(step, values, threshold):
    reached = np.nonzero(values >= threshold)[0]
    return int(step[reached[0]]) if reached.size else None


def seed_statistics(seed, curves):
    step = curves["step"]
    train_99 = first_step(step, curves["train_acc"], 0.99)
    test_95 = first_step(step, curves["test_acc"], 0.95)
    delay = test_95 - train_99 if test_95 is not None and train_99 is not None else None
    return {"seed": seed, "step_train_99": train_99, "step_test_95": test_95, "delay": delay,
            "final_train_acc": float(curves["train_acc"][-1]),
            "final_test_acc": float(curves["test_acc"][-1]),
            "final_norm": float(curves["weight_norm"][-1]),
            "max_norm": float(curves["weight_norm"].max())}


def training_summary(seeds):
    reached = [s["step_test_95"] for s in seeds if s["step_test_95"] is not None]
    trained = [s["step_train_99"] for s in seeds if s["step_train_99"] is not None]
    test_mean, test_se = mean_and_se(reached)
    train_mean, train_se = mean_and_se(trained)
    norm_mean, norm_se = mean_and_se([s["final_norm"] for s in seeds])
    test_acc_mean, _ = mean_and_se([s["final_test_acc"] for s in seeds])
    return {"seeds": len(seeds), "reached_test_95": len(reached),
            "step_test_95_mean": test_mean, "step_test_95_se": test_se,
            "step_train_99_mean": train_mean, "step_train_99_se": train_se,
            "final_norm_mean": norm_mean, "final_norm_se": norm_se,
            "final_test_acc_mean": test_acc_mean}


def train_config(part):
    return {"d-model": 32, "eval-every": EVAL_EVERY, "fixed-norm": 30.0
            if part["role"] == "fixed-norm" else 0.0, "glassy_version": "c5d39a2",
            "lr": "3e-3", "optimizer": part["optimizer"], "out": f"runs/repro/parts/{part['name']}",
            "p": 31, "parameters": 14592, "seeds": "0,1,2", "steps": STEPS, "task": part["task"],
            "train-frac": part["frac"], "wd": "0" if part["role"] == "fixed-norm" else "1"}


def write_train_part(directory, part, rng):
    """Write one train part's files and return (curves per replica, training entry)."""
    os.makedirs(directory, exist_ok=True)
    curves = [replica_curves(part, replica, rng) for replica in range(len(SEEDS))]
    with open(os.path.join(directory, "metrics.csv"), "w") as handle:
        handle.write(METRICS_COLUMNS + "\n")
        columns = METRICS_COLUMNS.split(",")
        for row in range(curves[0]["step"].size):
            for replica_curve in curves:
                values = []
                for column in columns:
                    value = replica_curve[column][row]
                    values.append(str(int(value)) if column in ("step", "replica")
                                  else format_number(float(value)))
                handle.write(",".join(values) + "\n")
    seeds = [seed_statistics(seed, curves[r]) for r, seed in enumerate(SEEDS)]
    write_json(os.path.join(directory, "config.json"), train_config(part))
    replicas = [{"replica": r, "seed": seed, "lr": 3e-3, "wd": 1.0,
                 "first_step_train_acc_99": seeds[r]["step_train_99"],
                 "first_step_test_acc_95": seeds[r]["step_test_95"]}
                for r, seed in enumerate(SEEDS)]
    write_json(os.path.join(directory, "summary.json"),
               {"eval_every": EVAL_EVERY, "interrupted": False, "replicas": replicas})
    entry = {"name": part["name"], "role": part["role"], "task": part["task"],
             "train_frac": part["frac"], "optimizer": part["optimizer"], "steps": STEPS,
             "seeds": seeds, "summary": training_summary(seeds)}
    return curves, entry


def bin_centres(axis):
    return axis["lo"] + (np.arange(axis["bins"]) + 0.5) * axis["width"]


def synthetic_entropy(part, rng):
    """Return (S shifted to min 0 with NaN where unvisited, visits) on the fixture grid."""
    x = bin_centres(X_AXIS)[:, None]
    y = (bin_centres(Y_AXIS) / Y_AXIS["scale"])[None, :]
    memorizing = -((y - 0.25) ** 2) / (2 * 0.09 ** 2)
    generalizing = part["gen_offset"] - 0.8 * (x + 9.0) - ((y - 0.93) ** 2) / (2 * 0.04 ** 2)
    neck = (x > -4.6) & (x < -4.0) & (part["barrier"] is not None)
    # A broad component in the neck columns joins the basins, so that the saddle between the
    # two ends lies about part["barrier"] below the lower end.
    lift = part["gen_offset"] - 4.0 - (part["barrier"] or 0.0) / 3.0
    bridge = np.where(neck, lift - ((y - 0.65) ** 2) / (2 * 0.2 ** 2), -np.inf)
    shape = 3.0 * np.logaddexp(np.logaddexp(memorizing, generalizing), bridge)
    entropy = 35.0 * (x + 18.0) + shape + BIAS_BETA * np.maximum(x - BIAS_L0, 0.0) ** 2
    visited = shape >= shape.max(axis=1, keepdims=True) - 40.0
    visited &= (x > -16.5) & (x < 1.0) & (y >= 0.0) & (y <= 1.0)
    visited &= ~((y > 0.5) & (y < 0.8) & ~neck)
    visited &= rng.random(visited.shape) >= 0.08
    visits = np.where(visited, rng.integers(5, 60, visited.shape), 0)
    entropy = np.where(visited, entropy, np.nan)
    return entropy - np.nanmin(entropy), visits


def equilibrium_rows(entropy, visits, rng):
    x = bin_centres(X_AXIS)
    accuracy = bin_centres(Y_AXIS) / Y_AXIS["scale"]
    rows = []
    for ix in range(entropy.shape[0]):
        column = entropy[ix]
        if not np.isfinite(column).any():
            continue
        s_max = np.nanmax(column)
        weights = np.where(np.isfinite(column), np.exp(column - s_max), 0.0)
        y_mean = float((weights * accuracy).sum() / weights.sum())
        # Every tenth column has no jackknife estimate, as when fewer than two walkers saw it.
        se = None if ix % 10 == 0 else float(rng.uniform(0.002, 0.03))
        rows.append({"x": float(x[ix]), "visits": int(visits[ix].sum()),
                     "y_argmax": float(accuracy[np.nanargmax(column)]), "y_argmax_se": se,
                     "y_mean": y_mean, "y_mean_se": se, "s_max": float(s_max)})
    return rows


def adamw_bins(curves):
    """Bin the AdamW rows by ln L_train in 0.5 bins aligned to the map's x.lo."""
    per_bin = {}
    for replica_curve in curves:
        index = np.floor((replica_curve["log_train_loss"] - X_AXIS["lo"]) / 0.5).astype(int)
        for k in np.unique(index):
            seed_mean = float(replica_curve["smooth_test_acc"][index == k].mean())
            per_bin.setdefault(int(k), []).append(seed_mean)
    rows = []
    for k in sorted(per_bin):
        mean, se = mean_and_se(per_bin[k])
        rows.append({"x_lo": X_AXIS["lo"] + 0.5 * k, "x_hi": X_AXIS["lo"] + 0.5 * (k + 1),
                     "seeds": len(per_bin[k]), "y_mean": mean, "y_se": se})
    return rows


def advantage_rows(equilibrium, adamw):
    rows = []
    for bin_row in adamw:
        inside = [r["y_argmax"] for r in equilibrium
                  if bin_row["x_lo"] <= r["x"] < bin_row["x_hi"]]
        if not inside:
            continue
        eq = float(np.mean(inside))
        eq_se = 0.015
        adamw_se = bin_row["y_se"] or 0.0
        rows.append({"x_lo": bin_row["x_lo"], "x_hi": bin_row["x_hi"], "y_equilibrium": eq,
                     "y_equilibrium_se": eq_se, "y_adamw": bin_row["y_mean"],
                     "y_adamw_se": bin_row["y_se"], "advantage": eq - bin_row["y_mean"],
                     "advantage_se": math.sqrt(eq_se ** 2 + adamw_se ** 2)})
    return rows


def advantage_summary(rows, equilibrium):
    low = [r for r in rows if r["x_hi"] <= BAND_X_MAX]
    if not low:
        return None
    summary = {}
    for name, key in (("argmax", "y_argmax"), ("weighted_mean", "y_mean")):
        values = []
        for row in low:
            inside = [r[key] for r in equilibrium if row["x_lo"] <= r["x"] < row["x_hi"]]
            values.append(float(np.mean(inside)) - row["y_adamw"])
        se = math.sqrt(sum(r["advantage_se"] ** 2 for r in low)) / len(low)
        summary[name] = {"mean": float(np.mean(values)), "se": se, "bins": len(low),
                         "x_lo": low[0]["x_lo"], "x_hi": low[-1]["x_hi"]}
    return summary


def widest_path(entropy, band, start, goal):
    """Return the 4-neighbour path inside band from start to goal whose lowest S is highest."""
    best = {start: entropy[start]}
    previous = {}
    heap = [(-entropy[start], start)]
    while heap:
        negative_width, cell = heapq.heappop(heap)
        if cell == goal:
            break
        if -negative_width < best.get(cell, -np.inf):
            continue
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            neighbour = (cell[0] + dx, cell[1] + dy)
            if not (0 <= neighbour[0] < band.shape[0] and 0 <= neighbour[1] < band.shape[1]):
                continue
            if not band[neighbour]:
                continue
            width = min(-negative_width, entropy[neighbour])
            if width > best.get(neighbour, -np.inf):
                best[neighbour] = width
                previous[neighbour] = cell
                heapq.heappush(heap, (-width, neighbour))
    if goal not in best:
        return None
    path = [goal]
    while path[-1] != start:
        path.append(previous[path[-1]])
    return path[::-1]


def barrier_result(entropy, walkers):
    """Return (barrier entry, path rows) as `glassy analyze` defines the entropy barrier.

    The band is the visited bins with ln L_train < -4. M and G are its largest-S bins with
    accuracy < 0.5 and > 0.9, and B = min(S(M), S(G)) minus the widest path's lowest S.
    """
    x = bin_centres(X_AXIS)
    accuracy = bin_centres(Y_AXIS) / Y_AXIS["scale"]
    band = np.isfinite(entropy) & (x[:, None] < BAND_X_MAX)
    ends = []
    for condition in (accuracy[None, :] < 0.5, accuracy[None, :] > 0.9):
        candidates = np.where(band & condition, entropy, -np.inf)
        if not np.isfinite(candidates).any():
            ends.append(None)
            continue
        ends.append(np.unravel_index(np.argmax(candidates), candidates.shape))
    path = widest_path(entropy, band, *ends) if None not in ends else None
    if path is None:
        reason = ("no path of visited bins with ln L_train < -4 joins the memorizing and the "
                  "generalizing end")
        statement = "no barrier can be measured: " + reason
        return {"value": None, "reason": reason, "statement": statement}, None

    def describe(cell):
        return {"x": float(x[cell[0]]), "accuracy": float(accuracy[cell[1]]),
                "s": float(entropy[cell])}

    saddle = min(path, key=lambda cell: entropy[cell])
    value = float(min(entropy[ends[0]], entropy[ends[1]]) - entropy[saddle])
    se = 0.8 + 0.3 * value
    detected = value > 2 * se
    if detected:
        statement = f"a barrier of {value:.3g} +- {se:.3g} is detected"
    else:
        statement = (f"no barrier is detected at this map's resolution (B = {value:.3g} +- "
                     f"{se:.3g}; bins 0.1 x 0.02, deposit sigma 2 bins, so features narrower "
                     "than about 2 sigma bins are smoothed away)")
    entry = {"value": value, "se": se, "jackknife_n": walkers, "detected": detected,
             "statement": statement, "memorizing_end": describe(ends[0]),
             "generalizing_end": describe(ends[1]), "saddle": describe(saddle)}
    rows = [dict(order=i, **describe(cell)) for i, cell in enumerate(path)]
    return entry, rows


def write_csv(path, columns, rows):
    with open(path, "w") as handle:
        handle.write(",".join(columns) + "\n")
        for row in rows:
            fields = []
            for column in columns:
                value = row[column]
                fields.append(str(value) if isinstance(value, int) else format_number(value))
            handle.write(",".join(fields) + "\n")


def write_map_analysis(root, part, adamw_curves, rng):
    """Write analysis/<map>/ and return the map's entry of analysis.json."""
    name = part["name"]
    os.makedirs(os.path.join(root, "analysis", name), exist_ok=True)
    relative = {key: f"analysis/{name}/{key}.{ext}" for key, ext in
                (("entropy", "npy"), ("equilibrium", "csv"), ("adamw", "csv"),
                 ("advantage", "csv"), ("barrier_path", "csv"))}

    entropy, visits = synthetic_entropy(part, rng)
    np.save(os.path.join(root, relative["entropy"]), entropy)
    equilibrium = equilibrium_rows(entropy, visits, rng)
    write_csv(os.path.join(root, relative["equilibrium"]),
              ["x", "visits", "y_argmax", "y_argmax_se", "y_mean", "y_mean_se", "s_max"],
              equilibrium)
    advantage = None
    if adamw_curves is not None:
        adamw = adamw_bins(adamw_curves)
        write_csv(os.path.join(root, relative["adamw"]),
                  ["x_lo", "x_hi", "seeds", "y_mean", "y_se"], adamw)
        rows = advantage_rows(equilibrium, adamw)
        write_csv(os.path.join(root, relative["advantage"]),
                  ["x_lo", "x_hi", "y_equilibrium", "y_equilibrium_se", "y_adamw", "y_adamw_se",
                   "advantage", "advantage_se"], rows)
        advantage = advantage_summary(rows, equilibrium)
    else:
        del relative["adamw"], relative["advantage"]

    barrier, path_rows = barrier_result(entropy, walkers=6)
    if path_rows is None:
        del relative["barrier_path"]
    else:
        write_csv(os.path.join(root, relative["barrier_path"]),
                  ["order", "x", "accuracy", "s"], path_rows)

    return {"name": name, "role": part["role"], "task": part["task"],
            "d_model": part["d_model"], "compare": part["compare"], "walkers": 6,
            "sharing": "continuous", "steps_per_walker": 10000,
            "visited_bins": int(np.isfinite(entropy).sum()),
            "flatness": {"min_over_mean": 0.41, "variation": 0.37},
            "x": dict(X_AXIS), "y": dict(Y_AXIS), "sigma_bins": 2.0,
            "files": relative, "advantage": advantage, "barrier": barrier}


def sample_config(part):
    return {"beta": BIAS_BETA, "constraint": "shell" if part["role"] == "shell" else "bounds",
            "d-model": part["d_model"], "dims": 2, "glassy_version": "c5d39a2",
            "l0": BIAS_L0, "out": f"runs/repro/parts/{part['name']}", "p": 31,
            "sharing": "continuous", "shell-norm": 30.0, "steps": 10000, "task": part["task"],
            "train-frac": 0.5}


def plan_entries():
    entries = []
    for part in TRAIN_PARTS:
        entries.append({"name": part["name"], "kind": "train", "role": part["role"],
                        "task": part["task"], "train_frac": part["frac"], "d_model": 32,
                        "compare": part["compare"],
                        "title": f"{part['role']} on {part['task']} at {part['frac']:g}",
                        "args": ["--task", part["task"]]})
    for part in MAP_PARTS:
        entries.append({"name": part["name"], "kind": "sample", "role": part["role"],
                        "task": part["task"], "train_frac": 0.5, "d_model": part["d_model"],
                        "compare": part["compare"],
                        "title": f"{part['role']} of {part['task']}, d_model {part['d_model']}",
                        "args": ["--task", part["task"]]})
    return entries


def part_status(name, selected):
    if name not in selected:
        return {"state": "skipped", "wall_seconds": 0.0, "attempts": 0}
    if name in INTERRUPTED:
        return {"state": "interrupted", "wall_seconds": 95.5, "attempts": 2}
    return {"state": "done", "wall_seconds": 30.0 + 2.5 * len(name), "attempts": 1}


def write_fixture(root, only=()):
    """Write the fixture into root. only: the part names to include, empty for all."""
    rng = np.random.default_rng(20250511)
    plan = plan_entries()
    selected = set(only) if only else {entry["name"] for entry in plan}
    machine = {"cpu": "AMD EPYC 7B13", "cores": 2, "memory_gib": 23.4,
               "os": "Linux 6.1.0", "backend": "cpu"}
    command = "glassy reproduce --preset demo --out runs/repro" + (
        " --only " + ",".join(only) if only else "")
    os.makedirs(os.path.join(root, "analysis"), exist_ok=True)
    write_json(os.path.join(root, "reproduce.json"),
               {"format": 1, "preset": "demo", "only": list(only), "glassy_version": "c5d39a2",
                "command": command, "machine": machine, "parts": plan})
    status = {entry["name"]: part_status(entry["name"], selected) for entry in plan}
    write_json(os.path.join(root, "status.json"), {"parts": status})

    curves, training, configs = {}, [], {}
    for part in TRAIN_PARTS:
        if part["name"] in selected:
            directory = os.path.join(root, "parts", part["name"])
            curves[part["name"]], entry = write_train_part(directory, part, rng)
            training.append(entry)
            configs[part["name"]] = train_config(part)
    maps = []
    for part in MAP_PARTS:
        if part["name"] in selected:
            os.makedirs(os.path.join(root, "parts", part["name"]), exist_ok=True)
            configs[part["name"]] = sample_config(part)
            write_json(os.path.join(root, "parts", part["name"], "config.json"),
                       configs[part["name"]])
            if status[part["name"]]["state"] == "done":
                maps.append(write_map_analysis(root, part, curves.get(part["compare"]), rng))

    write_steps_csv(root, training)
    parts = [dict(entry, **status[entry["name"]], config=configs.get(entry["name"]))
             for entry in plan]
    for part in parts:
        del part["args"]
    analysis = {"format": 1, "preset": "demo", "glassy_version": "c5d39a2",
                "command": command, "machine": machine, "parts": parts,
                "total_wall_seconds": sum(s["wall_seconds"] for s in status.values()),
                "maps": maps, "training": training, "comparisons": comparisons(training)}
    write_json(os.path.join(root, "analysis", "analysis.json"), analysis)


def comparisons(training):
    by_name = {entry["name"]: entry for entry in training}
    rows = []
    for part in TRAIN_PARTS:
        this, other = by_name.get(part["name"]), by_name.get(part["compare"])
        if this is None or other is None:
            continue
        mine, theirs = this["summary"], other["summary"]
        speedup = None
        if mine["step_test_95_mean"] and theirs["step_test_95_mean"]:
            speedup = theirs["step_test_95_mean"] / mine["step_test_95_mean"]
        rows.append({"part": part["name"], "compare": part["compare"], "role": part["role"],
                     "train_frac": part["frac"],
                     "step_test_95_mean": mine["step_test_95_mean"],
                     "step_test_95_se": mine["step_test_95_se"],
                     "compare_step_test_95_mean": theirs["step_test_95_mean"],
                     "compare_step_test_95_se": theirs["step_test_95_se"], "speedup": speedup,
                     "final_norm_mean": mine["final_norm_mean"],
                     "compare_final_norm_mean": theirs["final_norm_mean"]})
    return rows


def write_steps_csv(root, training):
    columns = ["part", "role", "task", "train_frac", "optimizer", "seed", "step_train_99",
               "step_test_95", "delay", "final_train_acc", "final_test_acc", "final_norm",
               "max_norm"]
    with open(os.path.join(root, "analysis", "steps_to_generalize.csv"), "w") as handle:
        handle.write(",".join(columns) + "\n")
        for entry in training:
            for seed in entry["seeds"]:
                fields = [entry["name"], entry["role"], entry["task"],
                          format_number(entry["train_frac"]), entry["optimizer"]]
                for column in columns[5:]:
                    value = seed[column]
                    fields.append("" if value is None else
                                  str(value) if isinstance(value, int) else format_number(value))
                handle.write(",".join(fields) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="directory to write (created if missing)")
    parser.add_argument("--only", default="", help="comma-separated part names to include")
    args = parser.parse_args()
    only = tuple(name for name in args.only.split(",") if name)
    write_fixture(args.dir, only)


if __name__ == "__main__":
    main()
