#!/usr/bin/env python3
"""Tests for tools/plot_reproduction.py and its modules on synthetic reproduction directories.

Run from the repository root (about 30 s on two cores):
    PYTHONDONTWRITEBYTECODE=1 .venv/bin/python -m unittest tests/tools/plot_reproduction_test.py

The directories come from make_reproduction_fixture.py in this folder.
"""
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOL = os.path.join(ROOT, "tools", "plot_reproduction.py")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import make_reproduction_fixture as fixture  # noqa: E402
import plot_reproduction as plot  # noqa: E402
import reproduction_data as data  # noqa: E402
import reproduction_report as report  # noqa: E402

FULL_FIGURES = ["advantage", "entropy-map-add", "entropy-map-x2y", "entropy-shell-16",
                "entropy-shell-32", "entropy-shell-64", "hybrid", "norm-adamw-add",
                "optimizers-adamw-add", "shells", "training-adamw"]


def run_tool(directory, cwd=None):
    return subprocess.run([sys.executable, TOOL, directory], cwd=cwd, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))


def read_bytes(path):
    with open(path, "rb") as handle:
        return handle.read()


def figure_stems(directory):
    names = os.listdir(os.path.join(directory, "figures"))
    return sorted({os.path.splitext(name)[0] for name in names})


def read_text(directory, name):
    with open(os.path.join(directory, name), encoding="utf-8") as handle:
        return handle.read()


def markdown_section(markdown, heading):
    """Return the Markdown lines after `### heading` up to the next heading."""
    after = markdown.split(f"### {heading}\n", 1)[1]
    return after.split("\n#", 1)[0]


def edit_analysis(directory, change):
    """Apply change(analysis) to directory's analysis.json and write it back."""
    path = os.path.join(directory, "analysis", "analysis.json")
    with open(path) as handle:
        analysis = json.load(handle)
    change(analysis)
    with open(path, "w") as handle:
        json.dump(analysis, handle, indent=2)


class FullDirectoryTest(unittest.TestCase):
    """One full fixture, and a copy of it in another folder run by a relative path."""

    @classmethod
    def setUpClass(cls):
        cls.temp = tempfile.mkdtemp(prefix="plot_reproduction_test_")
        cls.first = os.path.join(cls.temp, "first", "repro")
        fixture.write_fixture(cls.first)
        cls.copy_parent = os.path.join(cls.temp, "elsewhere", "deeper")
        os.makedirs(cls.copy_parent)
        shutil.copytree(cls.first, os.path.join(cls.copy_parent, "copy"))
        cls.copy = os.path.join(cls.copy_parent, "copy")
        cls.first_result = run_tool(cls.first)
        cls.copy_result = run_tool("copy", cwd=cls.copy_parent)
        with open(os.path.join(cls.first, "analysis", "analysis.json")) as handle:
            cls.analysis = json.load(handle)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.temp)

    def read_report(self, name):
        with open(os.path.join(self.first, name), encoding="utf-8") as handle:
            return handle.read()

    def test_tool_exits_zero(self):
        self.assertEqual(self.first_result.returncode, 0, self.first_result.stderr)
        self.assertEqual(self.copy_result.returncode, 0, self.copy_result.stderr)

    def test_every_figure_written_as_png_and_svg(self):
        self.assertEqual(figure_stems(self.first), FULL_FIGURES)
        for stem in FULL_FIGURES:
            for extension in (".png", ".svg"):
                path = os.path.join(self.first, "figures", stem + extension)
                self.assertGreater(os.path.getsize(path), 1000, path)

    def test_copy_gives_identical_bytes(self):
        names = ["report.md", "report.html"] + [
            os.path.join("figures", stem + extension)
            for stem in FULL_FIGURES for extension in (".png", ".svg")]
        for name in names:
            with self.subTest(name=name):
                self.assertEqual(read_bytes(os.path.join(self.first, name)),
                                 read_bytes(os.path.join(self.copy, name)))

    def test_rerun_gives_identical_report(self):
        before = read_bytes(os.path.join(self.first, "report.html"))
        svg_before = read_bytes(os.path.join(self.first, "figures", "entropy-map-add.svg"))
        result = run_tool(self.first)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(read_bytes(os.path.join(self.first, "report.html")), before)
        self.assertEqual(
            read_bytes(os.path.join(self.first, "figures", "entropy-map-add.svg")), svg_before)

    def test_outputs_hold_no_absolute_path(self):
        for name in ["report.md", "report.html"] + [
                os.path.join("figures", stem + ".svg") for stem in FULL_FIGURES]:
            with open(os.path.join(self.first, name), encoding="utf-8") as handle:
                self.assertNotIn(self.temp, handle.read(), name)

    def test_report_copies_barrier_statements(self):
        markdown, page = self.read_report("report.md"), self.read_report("report.html")
        for entry in self.analysis["maps"]:
            statement = entry["barrier"]["statement"]
            self.assertIn(report.md_escape(statement), markdown, entry["name"])
            self.assertIn(html.escape(statement), page, entry["name"])

    def test_report_header_and_findings(self):
        markdown = self.read_report("report.md")
        self.assertIn("# glassy reproduction report: preset demo", markdown)
        self.assertIn("glassy reproduce --preset demo --out runs/repro", markdown)
        self.assertIn("c5d39a2", markdown)
        self.assertIn("AMD EPYC 7B13, 2 cores", markdown)
        self.assertIn("reached by 2 of 3 seeds", markdown)
        self.assertIn("reached by 0 of 3 seeds", markdown)
        self.assertIn("speedup 2.83", markdown)
        self.assertIn("```json", markdown)

    def test_report_steps_table_marks_never(self):
        markdown = self.read_report("report.md")
        self.assertIn("| adamw-x2y | adamw | x^2+y | 0.5 | adamw | 2 | 530 | never | n/a |",
                      markdown)

    def test_html_figures_use_relative_paths(self):
        page = self.read_report("report.html")
        for stem in FULL_FIGURES:
            self.assertIn(f'src="figures/{stem}.svg"', page)
        self.assertIn("<details><summary>adamw-add</summary>", page)
        self.assertNotIn("<script", page)

    def test_report_lists_parts_not_analysed(self):
        markdown = self.read_report("report.md")
        lines = markdown_section(markdown, "Not analysed").strip().splitlines()
        self.assertEqual(lines[-1],
                         "- **state interrupted**: map-cubic (stopped before it finished).")
        self.assertEqual(sum(line.startswith("- **") for line in lines), 1, lines)
        self.assertIn("| map-cubic | sample | map | x^3+xy^2+y | 0.5 | 32 | adamw-cubic | "
                      "interrupted |", markdown)

    def test_report_labels_wall_time_of_parts(self):
        for name in ("report.md", "report.html"):
            text = self.read_report(name)
            self.assertIn("wall time of the parts", text, name)
            self.assertNotIn("total wall time", text, name)

    def test_barrier_reason_given_once(self):
        barrier = markdown_section(self.read_report("report.md"), "Entropy barrier")
        line = next(line for line in barrier.splitlines() if line.startswith("- **map-x2y**"))
        self.assertEqual(line.count("no path of visited bins"), 1, line)
        self.assertNotIn("Statement:", line)

    def test_norm_caption_explains_step_zero(self):
        markdown = self.read_report("report.md")
        self.assertIn("Fixed-norm runs start at the initialization's norm at step 0", markdown)
        self.assertIn("from step 1 on they stay on a vertical line", markdown)

    def test_map_captions_describe_drawn_overlays(self):
        markdown = self.read_report("report.md")
        self.assertEqual(markdown.count("Black circles: the AdamW trajectories of"), 2)
        self.assertNotIn("No AdamW trajectories are drawn", markdown)
        self.assertIn("### steps to 95% test accuracy: hybrid against AdamW", markdown)

    def test_every_figure_has_a_caption(self):
        markdown = self.read_report("report.md")
        for stem in FULL_FIGURES:
            self.assertIn(f"](figures/{stem}.png)", markdown)
        self.assertEqual(markdown.count("White bins were never visited"), 6)


class PartialDirectoryTest(unittest.TestCase):
    def setUp(self):
        self.temp = tempfile.mkdtemp(prefix="plot_reproduction_test_")

    def tearDown(self):
        shutil.rmtree(self.temp)

    def test_missing_analysis_exits_2(self):
        os.makedirs(os.path.join(self.temp, "analysis"))
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("glassy analyze", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.temp, "report.md")))

    def test_invalid_analysis_exits_2(self):
        os.makedirs(os.path.join(self.temp, "analysis"))
        with open(os.path.join(self.temp, "analysis", "analysis.json"), "w") as handle:
            handle.write("{not json")
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("not valid JSON", result.stderr)

    def test_non_object_analysis_exits_2(self):
        os.makedirs(os.path.join(self.temp, "analysis"))
        with open(os.path.join(self.temp, "analysis", "analysis.json"), "w") as handle:
            handle.write("[]")
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 2)
        self.assertIn("not a JSON object", result.stderr)

    def test_missing_barrier_path_keeps_ends(self):
        fixture.write_fixture(self.temp, only=("adamw-add", "map-add"))
        os.remove(os.path.join(self.temp, "analysis", "map-add", "barrier_path.csv"))
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("barrier_path.csv not found; barrier path left out", result.stderr)
        with open(os.path.join(self.temp, "report.md"), encoding="utf-8") as handle:
            markdown = handle.read()
        self.assertIn("(the path file is missing)", markdown)
        self.assertIn("Left out", markdown)

    def test_only_subset_skips_absent_figures(self):
        fixture.write_fixture(self.temp, only=("adamw-add", "wand-add"))
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(figure_stems(self.temp),
                         ["norm-adamw-add", "optimizers-adamw-add", "training-adamw"])
        self.assertIn("hybrid comparison figure skipped", result.stderr)
        self.assertIn("entropy-map figures skipped", result.stderr)
        with open(os.path.join(self.temp, "report.md"), encoding="utf-8") as handle:
            markdown = handle.read()
        self.assertIn("no config.json (the part was not run)", markdown)
        self.assertIn("| map-add | sample | map | x+y | 0.5 | 32 | adamw-add | skipped |",
                      markdown)
        self.assertIn("- **state skipped**: adamw-x2y, adamw-cubic, fixed-norm-add, ",
                      markdown_section(markdown, "Not analysed"))
        self.assertIn(", map-cubic (outside --only, not run).", markdown)

    def test_missing_optional_files_skip_overlays(self):
        fixture.write_fixture(self.temp, only=("adamw-add", "map-add"))
        os.remove(os.path.join(self.temp, "analysis", "map-add", "adamw.csv"))
        os.remove(os.path.join(self.temp, "analysis", "map-add", "advantage.csv"))
        os.remove(os.path.join(self.temp, "analysis", "steps_to_generalize.csv"))
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("analysis/map-add/adamw.csv not found", result.stderr)
        self.assertIn("advantage figure skipped", result.stderr)
        self.assertIn("steps_to_generalize.csv not found", result.stderr)
        self.assertIn("entropy-map-add", figure_stems(self.temp))
        self.assertNotIn("advantage", figure_stems(self.temp))

    def test_figures_file_exits_2(self):
        fixture.write_fixture(self.temp, only=("adamw-add",))
        with open(os.path.join(self.temp, "figures"), "w") as handle:
            handle.write("not a directory\n")
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 2)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)
        self.assertIn("exists and is not a directory", result.stderr)
        self.assertNotIn("Traceback", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.temp, "report.md")))

    def test_stale_figures_removed(self):
        fixture.write_fixture(self.temp, only=("adamw-add",))
        figures = os.path.join(self.temp, "figures")
        os.makedirs(os.path.join(figures, "kept-folder.png"))
        for name in ("entropy-map-add.png", "entropy-map-add.svg", "notes.txt"):
            with open(os.path.join(figures, name), "w") as handle:
                handle.write("old\n")
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(sorted(os.listdir(figures)),
                         ["kept-folder.png", "notes.txt", "training-adamw.png",
                          "training-adamw.svg"])
        self.assertNotIn("entropy-map-add", read_text(self.temp, "report.md"))

    def test_skipped_adamw_part_named_in_map(self):
        fixture.write_fixture(self.temp, only=("map-add",))
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 0, result.stderr)
        markdown = read_text(self.temp, "report.md")
        reason = "(state skipped: outside --only, not run)"
        self.assertIn("No AdamW trajectories are drawn: the AdamW part adamw-add was not "
                      f"analysed {reason}.", markdown)
        self.assertNotIn("Black circles", markdown)
        self.assertIn("- **map-add**: no value: the AdamW part adamw-add was not analysed "
                      f"{reason}.", markdown)
        self.assertNotIn("no low-loss ln L_train bin holds both curves", markdown)
        self.assertIn("- **state skipped**: adamw-add, adamw-x2y, adamw-cubic,",
                      markdown_section(markdown, "Not analysed"))

    def test_failed_adamw_part_named_in_map(self):
        fixture.write_fixture(self.temp, only=("adamw-add", "map-add"))

        def fail_adamw(analysis):
            analysis["training"] = []
            analysis["comparisons"] = []
            analysis["maps"][0]["advantage"] = None
            for part in analysis["parts"]:
                if part["name"] == "adamw-add":
                    part["state"] = "failed"

        edit_analysis(self.temp, fail_adamw)
        # Without the compare part, `glassy analyze` writes these files with only a header.
        for name, header in (("adamw.csv", "x_lo,x_hi,seeds,y_mean,y_se"),
                             ("advantage.csv", "x_lo,x_hi,y_equilibrium,y_equilibrium_se,"
                              "y_adamw,y_adamw_se,advantage,advantage_se")):
            with open(os.path.join(self.temp, "analysis", "map-add", name), "w") as handle:
                handle.write(header + "\n")
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 0, result.stderr)
        markdown = read_text(self.temp, "report.md")
        self.assertIn("No AdamW trajectories are drawn: the AdamW part adamw-add was not "
                      "analysed (state failed: the run failed).", markdown)
        self.assertIn("- **state failed**: adamw-add (the run failed).",
                      markdown_section(markdown, "Not analysed"))
        self.assertIn("- **map-add**: no value: the AdamW part adamw-add was not analysed "
                      "(state failed: the run failed).", markdown)
        self.assertIn("| adamw-add | train | adamw | x+y | 0.5 | 32 |  | failed |", markdown)

    def test_hybrid_without_adamw_peer(self):
        fixture.write_fixture(self.temp, only=("hybrid-x2y-60",))
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("hybrid", figure_stems(self.temp))
        markdown = read_text(self.temp, "report.md")
        self.assertIn("### steps to 95% test accuracy: hybrid\n", markdown)
        self.assertNotIn("hybrid against AdamW", markdown)
        self.assertIn("No AdamW part at a hybrid's train fraction was analysed", markdown)

    def test_missing_metrics_skips_training_figures(self):
        fixture.write_fixture(self.temp, only=("adamw-add",))
        os.remove(os.path.join(self.temp, "parts", "adamw-add", "metrics.csv"))
        result = run_tool(self.temp)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("parts/adamw-add/metrics.csv not found", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.temp, "figures")))


class HelperTest(unittest.TestCase):
    def test_format_stat_cases(self):
        cases = [(0.5, "0.500"), (0.99999, "1.00"), (166.485, "166"), (12345.6, "12300"),
                 (0.00327, "0.00327"), (-0.0531, "-0.0531"), (0.0, "0"), (None, "n/a"),
                 (float("nan"), "n/a"), (2.5e-15, "2.50e-15")]
        for value, expected in cases:
            with self.subTest(value=value):
                self.assertEqual(data.format_stat(value), expected)

    def test_format_steps_rounds(self):
        self.assertEqual(data.format_steps(2766.67), "2767")
        self.assertEqual(data.format_pm(3540.0, None, data.format_steps), "3540")
        self.assertEqual(data.format_pm(None, 3.0), "n/a")

    def test_colour_limits_ignore_unvisited_and_bias(self):
        entropy = np.array([[0.0, np.nan], [10.0, 20.0], [5000.0, np.nan]])
        x_centres = np.array([-10.0, -9.0, -3.0])
        low, high = plot.colour_limits(entropy, x_centres, x_max=-8.0)
        self.assertGreaterEqual(low, 0.0)
        self.assertLessEqual(high, 20.0)
        low, high = plot.colour_limits(entropy, x_centres, x_max=float("inf"))
        self.assertGreater(high, 20.0)

    def test_unvisited_bins_are_masked(self):
        entry = {"name": "m", "x": {"lo": -2.0, "width": 1.0, "bins": 2},
                 "y": {"lo": 0.0, "width": 0.5, "bins": 2, "scale": 1.0}}
        entropy = np.array([[0.0, np.nan], [1.0, 2.0]])
        context = data.Reproduction(tempfile.gettempdir(), {"parts": []})
        figure, ax = plot.plt.subplots()
        mesh = plot.draw_entropy(ax, context, entry, entropy)
        mask = np.ma.getmaskarray(mesh.get_array()).reshape(2, 2)
        plot.plt.close(figure)
        self.assertTrue(mask[1, 0])
        self.assertEqual(int(mask.sum()), 1)

    def test_equilibrium_breaks_at_gaps(self):
        directory = tempfile.mkdtemp(prefix="plot_reproduction_test_")
        self.addCleanup(shutil.rmtree, directory)
        os.makedirs(os.path.join(directory, "analysis", "m"))
        # Bin centres as `glassy analyze` prints them, with rounding noise (lo -6, width 0.1).
        x = [-5.0499999999999998, -4.9500000000000002, -4.8499999999999996, -3.0499999999999998,
             0.35000000000000142, 0.45000000000000107]
        with open(os.path.join(directory, "analysis", "m", "equilibrium.csv"), "w") as handle:
            handle.write("x,visits,y_argmax,y_argmax_se,y_mean,y_mean_se,s_max\n")
            for index, value in enumerate(x):
                handle.write(f"{value!r},5,0.{index + 1},,0.{index + 2},,1\n")
        entry = {"name": "m", "x": {"lo": -6.0, "width": 0.1, "bins": 80},
                 "files": {"equilibrium": "analysis/m/equilibrium.csv"}}
        context = data.Reproduction(directory, {"parts": []})
        figure, ax = plot.plt.subplots()
        plot.draw_equilibrium(ax, context, entry)
        plot.plt.close(figure)
        argmax_line, argmax_dots = ax.lines[0], ax.lines[1]
        line_x = np.asarray(argmax_line.get_xdata(), dtype=float)
        self.assertEqual(np.nonzero(np.isnan(line_x))[0].tolist(), [3, 5])
        self.assertEqual(line_x[~np.isnan(line_x)].tolist(), x)
        self.assertEqual(np.asarray(argmax_dots.get_xdata()).tolist(), [x[3]])
        self.assertEqual(len(ax.lines), 4)

    def test_colour_caption_names_fallback(self):
        entry = {"name": "m", "x": {"lo": -10.0, "width": 1.0, "bins": 4}}
        context = data.Reproduction(tempfile.gettempdir(), {"parts": [
            {"name": "m", "config": {"beta": 300.0, "l0": -8.0}}]})
        right_of_l0 = np.array([[np.nan], [np.nan], [np.nan], [1.0]])
        text = plot.colour_scale_text(context, entry, right_of_l0)
        self.assertTrue(text.startswith("all visited bins, because none lies at "
                                        "ln L_train ≤ -8"), text)
        both_sides = np.array([[0.0], [np.nan], [np.nan], [1.0]])
        text = plot.colour_scale_text(context, entry, both_sides)
        self.assertTrue(text.startswith("visited bins with ln L_train ≤ -8 "), text)

    def test_advantage_without_low_bins(self):
        self.assertNotIn("all bins", plot.ADVANTAGE_CAPTION)
        self.assertIn("a map without such a bin has no mean there", plot.ADVANTAGE_CAPTION)
        entry = {"name": "m", "compare": "a", "advantage": None}
        context = data.Reproduction(tempfile.gettempdir(), {
            "parts": [{"name": "a", "state": "done"}], "maps": [entry],
            "training": [{"name": "a"}]})
        self.assertEqual(plot.advantage_label(entry), "m")
        self.assertEqual(report.advantage_findings(context), [
            ("m", "no value (no low-loss ln L_train bin holds both curves).")])

    def test_hybrid_legend_names_both_series(self):
        never = {"steps": 1000, "seeds": [{"step_test_95": None}],
                 "summary": {"step_test_95_mean": None}}
        cases = [([(0.5, never, never)], ["hybrid, mean ± se",
                                          "AdamW at the same fraction, mean ± se"]),
                 ([(0.5, never, None)], ["hybrid, mean ± se"])]
        for rows, expected in cases:
            with self.subTest(peers=len(expected) - 1):
                figure, ax = plot.plt.subplots()
                plot.draw_hybrid_panel(ax, "x+y", rows)
                _, labels = plot.figure_legend_entries([ax])
                plot.plt.close(figure)
                self.assertEqual(labels, ["seed that never reached 95%"] + expected)

    def test_generalization_never_reached(self):
        summary = {"seeds": 1, "reached_test_95": 0, "step_train_99_mean": None,
                   "final_norm_mean": 30.0, "final_test_acc_mean": 0.1}
        context = data.Reproduction(tempfile.gettempdir(), {"training": [
            {"name": "t", "role": "adamw", "task": "x+y", "train_frac": 0.5,
             "summary": summary}]})
        [(_, text)] = report.generalization_findings(context)
        self.assertIn("reached by 0 of 1 seed;", text)
        self.assertIn("train accuracy ≥ 99% never reached;", text)
        self.assertNotIn("n/a", text)

    def test_findings_use_singular_counts(self):
        one_bin = {"mean": 0.1, "se": 0.01, "bins": 1, "x_lo": -5.0, "x_hi": -4.5}
        barrier = {"value": 1.0, "se": 0.5, "jackknife_n": 1, "statement": "s"}
        context = data.Reproduction(tempfile.gettempdir(), {"maps": [
            {"name": "m", "compare": "a",
             "advantage": {"argmax": one_bin, "weighted_mean": one_bin},
             "barrier": barrier}]})
        [(_, advantage)] = report.advantage_findings(context)
        self.assertIn("over 1 bin,", advantage)
        self.assertNotIn("1 bins", advantage)
        [(_, text)] = report.barrier_findings(context)
        self.assertIn("over 1 leave-one-out map)", text)
        self.assertEqual(data.plural(2, "bin"), "2 bins")

    def test_steps_table_marks_unreached_train(self):
        directory = tempfile.mkdtemp(prefix="plot_reproduction_test_")
        self.addCleanup(shutil.rmtree, directory)
        os.makedirs(os.path.join(directory, "analysis"))
        with open(os.path.join(directory, "analysis", "steps_to_generalize.csv"), "w") as out:
            out.write("part,seed,step_train_99,step_test_95,delay\nt,0,,,\n")
        context = data.Reproduction(directory, {})
        header, rows = report.steps_table(context)
        self.assertEqual(rows, [["t", "0", "never", "never", "n/a"]])

    def test_markdown_escape(self):
        self.assertEqual(report.md_escape("ln L_train < -4 | *x*"),
                         "ln L_train \\< -4 \\| \\*x\\*")
        self.assertEqual(report.md_escape("_lead"), "\\_lead")

    def test_html_escapes_text(self):
        page = report.render_html("t <1>", [("p", "a <b> & 'c'"),
                                            ("table", (["h&"], [["<td>"]]))])
        self.assertIn("<p>a &lt;b&gt; &amp; &#x27;c&#x27;</p>", page)
        self.assertIn("<th>h&amp;</th>", page)
        self.assertIn("<td>&lt;td&gt;</td>", page)
        self.assertIn("<title>t &lt;1&gt;</title>", page)


if __name__ == "__main__":
    unittest.main()
