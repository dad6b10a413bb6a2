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
            self.assertIn(statement, markdown, entry["name"])
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
