"""The template contract check and `aisci template list/check`: our templates, a v1-style one, broken ones."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aisci.cli import app
from aisci.errors import TemplateError
from aisci.templates import (
    available,
    check,
    datasets,
    description,
    final_info_problems,
    load_spec,
    resolve,
)

REPO = Path(__file__).resolve().parents[1]
OURS = ("2d_diffusion", "grokking", "nanogpt_lite")

# The shape of an AI Scientist v1 community template as published: argparse with --out_dir, a plot.py that
# writes to its working folder, prompt.json, seed_ideas.json with v1 fields, and a shipped run_0.
V1_EXPERIMENT = """
import argparse, json, os
parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", type=str, default="run_0")
args = parser.parse_args()
os.makedirs(args.out_dir, exist_ok=True)
result = {"toy": {"means": {"loss": 0.5, "acc": 0.9}, "stderrs": {"loss": 0.01, "acc": 0.02}}}
with open(os.path.join(args.out_dir, "final_info.json"), "w") as f:
    json.dump(result, f)
"""
V1_PLOT = """
import json
import matplotlib.pyplot as plt
labels = {"run_0": "Baselines"}
for run in labels:
    with open(f"{run}/final_info.json") as f:
        info = json.load(f)
    plt.bar(list(info["toy"]["means"]), list(info["toy"]["means"].values()))
plt.savefig("toy.png")
"""


def write_v1_template(folder: Path) -> Path:
    (folder / "latex").mkdir(parents=True)
    (folder / "experiment.py").write_text(V1_EXPERIMENT)
    (folder / "plot.py").write_text(V1_PLOT)
    (folder / "prompt.json").write_text(
        json.dumps({"system": "You are a researcher.", "task_description": "Toy."})
    )
    idea = {"Name": "toy", "Title": "Toy", "Experiment": "Run it.", "Interestingness": 1, "Feasibility": 10}
    (folder / "seed_ideas.json").write_text(json.dumps([idea | {"Novelty": 1}]))
    (folder / "latex" / "template.tex").write_text(
        "\\documentclass{article}\\begin{document}\\end{document}\n"
    )
    (folder / "run_0").mkdir()
    (folder / "run_0" / "final_info.json").write_text(json.dumps({"toy": {"means": {"loss": 0.5}}}))
    return folder


@pytest.mark.parametrize("name", OURS)
def test_our_templates_pass_the_check(name: str) -> None:
    assert check(REPO / "templates" / name) == []


def test_v1_community_template_is_accepted_as_it_is(tmp_path: Path) -> None:
    assert check(write_v1_template(tmp_path / "v1_toy")) == []


def test_each_problem_is_one_line_naming_its_file(tmp_path: Path) -> None:
    folder = write_v1_template(tmp_path / "broken")
    (folder / "latex" / "template.tex").unlink()
    (folder / "experiment.py").write_text("import sys\nprint(sys.argv)\n")
    (folder / "plot.py").write_text("def broken(:\n")
    (folder / "prompt.json").write_text('{"system": "x", ')
    (folder / "seed_ideas.json").write_text(json.dumps([{"Name": "a", "Title": "b"}]))
    (folder / "run_0" / "final_info.json").write_text(
        json.dumps({"a": {"mean": {"x": 1}}, "b": {"means": {"y": "1.0"}}})
    )
    (folder / "run_1").mkdir()
    (folder / "run_1" / "final_info.json").write_text("{not json")

    problems = check(folder)
    assert problems == [
        "latex/template.tex: missing file",
        "experiment.py: takes no --out_dir option (it is run as experiment.py --out_dir=run_i)",
        "plot.py: syntax error at line 1: invalid syntax",
        "prompt.json: invalid JSON (Expecting property name enclosed in double quotes at line 1, column 17)",
        "seed_ideas.json: idea 0 lacks Experiment",
        'run_0/final_info.json: group "a" has no "means"',
        'run_0/final_info.json: group "b": means "y" is not a number (\'1.0\')',
        "run_1/final_info.json: invalid JSON (Expecting property name enclosed in double quotes at line 1, "
        "column 2)",
    ]


def test_missing_files_are_each_reported(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert check(tmp_path / "empty") == [
        "experiment.py: missing file",
        "plot.py: missing file",
        "prompt.json: missing file",
        "seed_ideas.json: missing file",
        "latex/template.tex: missing file",
    ]


def test_final_info_rules() -> None:
    good = {"g": {"means": {"m": 1.5, "n": 2}, "stderrs": {"m": 0.1}, "smoke": True}}
    assert final_info_problems(good) == []
    assert final_info_problems({}) == [
        'final_info.json: must be a non-empty object {group: {"means": {metric: number}}}'
    ]
    assert final_info_problems({"g": {"means": {"m": True}}}) == [
        'final_info.json: group "g": means "m" is not a number (True)'
    ]
    assert final_info_problems({"g": {"means": {"m": float("nan")}}}) == [
        'final_info.json: group "g": means "m" is not finite (nan)'
    ]
    assert final_info_problems({"g": {"means": {}, "stderrs": [1]}}) == [
        'final_info.json: group "g": "stderrs" must be an object of metric -> number'
    ]


def test_resolve_by_name_or_folder(tmp_path: Path) -> None:
    assert resolve("grokking") == (REPO / "templates" / "grokking").resolve()
    assert resolve(str(REPO / "templates" / "grokking")) == (REPO / "templates" / "grokking").resolve()
    with pytest.raises(TemplateError, match="no template folder or name 'nope'") as info:
        resolve("nope")
    assert "2d_diffusion, grokking, nanogpt_lite" in info.value.hint


def test_templates_in_the_working_folder_come_first(tmp_path: Path) -> None:
    shutil.copytree(REPO / "templates" / "grokking", tmp_path / "templates" / "grokking")
    write_v1_template(tmp_path / "templates" / "v1_toy")
    found = available()
    assert found["grokking"] == tmp_path / "templates" / "grokking"
    assert found["v1_toy"] == tmp_path / "templates" / "v1_toy"
    assert found["nanogpt_lite"] == REPO / "templates" / "nanogpt_lite"


def test_description_and_datasets() -> None:
    folder = REPO / "templates"
    assert datasets(folder / "2d_diffusion") == ["circle", "dino", "line", "moons"]
    assert datasets(folder / "grokking") == ["x_plus_y", "x_minus_y", "x_div_y", "permutation"]
    assert datasets(folder / "nanogpt_lite") == ["shakespeare_char"]
    assert datasets(folder / "grokking", {"a": {}, "b": {}}) == ["a", "b"]
    text = description(folder / "2d_diffusion")
    assert text.startswith("Trains a denoising diffusion probabilistic model") and len(text) <= 80


def test_cli_check_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["template", "check", "nanogpt_lite"])
    assert ok.exit_code == 0 and ok.output == "nanogpt_lite: ok\n"

    folder = write_v1_template(tmp_path / "bad")
    (folder / "plot.py").unlink()
    (folder / "run_0" / "final_info.json").write_text(json.dumps({"toy": {"loss": 1}}))
    bad = runner.invoke(app, ["template", "check", str(folder)])
    assert bad.exit_code == 1
    assert bad.output.splitlines() == [
        "bad/plot.py: missing file",
        'bad/run_0/final_info.json: group "toy" has no "means"',
    ]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (
            {"metrics": {"loss": {"direction": "down"}}},
            "metrics.loss.direction: Input should be 'lower' or 'higher'",
        ),
        ({"page_limit": 0}, "page_limit: Input should be greater than or equal to 1"),
        ({"pages": 8}, "pages: Extra inputs are not permitted"),
        ({"metrics": {"los": {"primary": True}}}, 'metric "los" is in no group of run_0/final_info.json'),
    ],
)
def test_cli_check_names_each_template_json_problem(tmp_path: Path, spec: dict, problem: str) -> None:
    folder = write_v1_template(tmp_path / "declared")
    (folder / "template.json").write_text(json.dumps(spec))
    result = CliRunner().invoke(app, ["template", "check", str(folder)])
    assert result.exit_code == 1 and result.output.splitlines() == [f"declared/template.json: {problem}"]


def test_our_templates_declare_their_metrics() -> None:
    for name, primary in [
        ("2d_diffusion", ["eval_loss", "kl_divergence"]),
        ("grokking", ["final_val_acc", "step_val_acc_99"]),
        ("nanogpt_lite", ["best_val_loss"]),
    ]:
        spec = load_spec(REPO / "templates" / name)
        assert spec.page_limit == 8
        assert [m for m, s in spec.metrics.items() if s.primary] == primary
        assert all(s.direction and s.label and s.description for s in spec.metrics.values())
    assert load_spec(REPO / "templates" / "grokking").metric("step_val_acc_99").direction == "lower"


def test_cli_list_shows_each_template(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["template", "list", "--workspace", str(tmp_path / "ws")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.startswith("│")}
    assert set(OURS) <= set(rows)
    assert "circle, dino, line, moons" in rows["2d_diffusion"]
    assert "shakespeare_char" in rows["nanogpt_lite"]
    for name in OURS:
        cells = [c.strip() for c in rows[name].split("│")]
        assert cells[-3:-1] == ["no", "ok"]
