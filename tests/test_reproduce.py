"""Reproduction on idea folders the experiment stage really produced: re-runs in fresh sandboxes, every metric
compared with the original, and the verdicts a reader relies on (a deterministic run agrees in full, a clock
seed, a hand-edited number and a missing snapshot are each caught and named)."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from prefect import flow
from scripted_server import ScriptedServer
from toy_template import EXPERIMENT_RULES, edit, make_toy_template, step
from typer.testing import CliRunner
from writeup_fixture import finished_idea

from aisci.cli import app
from aisci.reproduce import read_report, reproduce
from aisci.settings import get_settings
from aisci.writeup.citations import Bibliography
from aisci.writeup.paper import assemble, load_context

CLOCK_SEED = "import random\nimport time\n\nLR = 0.03 + random.Random(time.time_ns()).random()"


@pytest.fixture(scope="module")
def finished(prefect_harness, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One idea through the real experiment stage (baseline and run 1, 3 seeds each); tests copy it."""
    root = tmp_path_factory.mktemp("finished")
    with pytest.MonkeyPatch.context() as patch, ScriptedServer([]) as server:

        def set_env(**values: object) -> None:
            for name, value in values.items():
                patch.setenv(name, str(value))
            get_settings.cache_clear()

        idea = finished_idea(root, server, set_env)
    get_settings.cache_clear()
    return idea


@pytest.fixture
def idea(finished: Path, tmp_path: Path, aisci_env) -> Path:
    aisci_env(AISCI_WORKSPACE=tmp_path / "ws", AISCI_SANDBOX_BACKEND="local", AISCI_RUN_TIMEOUT_S=60)
    return shutil.copytree(finished, tmp_path / finished.name, symlinks=True)


def digest(folder: Path) -> str:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()


def test_a_deterministic_run_reproduces_at_100_percent(idea: Path) -> None:
    originals = {run: digest(idea / f"run_{run}") for run in (0, 1)}
    result = CliRunner().invoke(app, ["reproduce", str(idea)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "reproduction rate 100%: 12 of 12 metrics agree (timings 4 of 4)" in output
    report = read_report(idea)
    assert report.rate == 1.0 and [r.status for r in report.runs] == ["reproduced", "reproduced"]
    bases = {(r.run, c.name): c.basis for r in report.runs for c in r.checks}
    assert bases[(0, "alpha.loss")] == "stderr"  # three seeds: a stderr to compare within
    assert bases[(0, "beta.steps_to_target")] == "unreached"  # unreached in both: agrees as such
    assert bases[(1, "alpha.steps_to_target")] == "stderr"
    assert bases[(0, "alpha.train_time")] == "timing"
    assert {run: digest(idea / f"run_{run}") for run in (0, 1)} == originals  # originals never touched
    assert json.loads((idea / "reproductions/1/run_1/run_1/final_info.json").read_text())["alpha"]["means"]
    rerun_manifest = json.loads((idea / "reproductions/1/manifest.json").read_text())
    assert rerun_manifest["written_by"] == "reproduce" and rerun_manifest["runtime"]["python"]

    # the experiment stage left a manifest enough to re-run the idea
    manifest = json.loads((idea / "manifest.json").read_text())
    assert [r["run"] for r in manifest["runs"]] == [0, 1]
    assert all(r["duration_s"] > 0 and r["seeds"] == {"seeds": "0, 1, 2"} for r in manifest["runs"])
    assert manifest["runs"][1]["parameters"]["lr"] == 0.03 and manifest["hostname"]

    # one run alone, in a reproduction of its own
    again = CliRunner().invoke(app, ["reproduce", str(idea), "--runs", "1"])
    assert again.exit_code == 0, again.output
    assert [r.run for r in read_report(idea).runs] == [1] and read_report(idea).reproduction == 2

    # the paper's appendix states the result
    context = load_context(idea)
    assert "6 of 6 reported metrics agreed" in context.reproduction
    tex = assemble(context, {}, Bibliography()).source
    appendix = tex[tex.index("\\appendix") :]
    assert "\\paragraph{Reproduction.} Every number in this paper was re" in appendix
    assert "6 of 6 reported metrics agreed with the re" in appendix and "rate of 100\\%" in appendix


def test_a_number_edited_after_its_run_is_caught(idea: Path) -> None:
    info_file = idea / "run_1" / "final_info.json"
    info = json.loads(info_file.read_text())
    info["alpha"]["means"]["loss"] += 0.01  # far beyond twice the combined stderr (about 0.0005)
    info_file.write_text(json.dumps(info))
    report = reproduce(idea, get_settings())
    assert [r.status for r in report.runs] == ["reproduced", "not_reproduced"]
    assert report.runs[1].disagreeing == ["alpha.loss"]
    assert (report.agreed, report.compared) == (11, 12)
    assert "Not reproduced: run 1 (alpha.loss)." in report.sentence()


def test_a_run_without_its_code_snapshot_is_unreproducible_not_skipped(idea: Path) -> None:
    shutil.rmtree(idea / "run_1" / "code")
    report = reproduce(idea, get_settings())
    assert [(r.run, r.status) for r in report.runs] == [(0, "reproduced"), (1, "unreproducible")]
    lost = report.runs[1]
    assert "run_1/code/ is missing" in lost.message
    assert len(lost.disagreeing) == 6 and all(c.note == "no code snapshot" for c in lost.checks)
    assert report.rate == 0.5  # its metrics count as not reproduced
    assert not (idea / "reproductions" / "1" / "run_1").exists()


def test_the_reproduce_stage_is_a_cached_task(idea: Path) -> None:
    from aisci.experiment.folder import ExperimentSummary
    from flows.stages import reproduce_stage

    summary = ExperimentSummary.model_validate_json((idea / "experiment.json").read_text())

    @flow
    def twice():
        return reproduce_stage(str(idea), None, summary), reproduce_stage(str(idea), None, summary)

    first, second = twice()
    assert first == second and first.rate == 1.0
    assert [p.name for p in (idea / "reproductions").iterdir()] == ["1"]  # the second came from the cache


def test_a_clock_seeded_run_is_not_reproduced_and_its_metrics_are_named(
    prefect_harness, scripted, scripted_env, tmp_path: Path
) -> None:
    from flows.experiment import run_experiments

    idea = make_toy_template(tmp_path / "sweep" / "clock_seed")
    scripted_env(tmp_path / "ws")
    run_1 = step(edits=edit("experiment.py", "LR = 0.1", CLOCK_SEED), label="clock seed")
    scripted.add(*EXPERIMENT_RULES)  # rules added later are matched first
    scripted.add({"contains": "Reply with: OK", "reply": "OK"}, {"contains": "this is run 1", "reply": run_1})
    assert run_experiments(str(idea), max_runs=2).runs == [1]

    report = reproduce(idea, get_settings())
    assert [r.status for r in report.runs] == ["reproduced", "not_reproduced"]
    assert report.runs[1].disagreeing == ["toy.loss"]
    (check,) = report.runs[1].checks
    assert check.basis == "exact" and check.difference != 0  # no stderr, no tolerance: must match exactly
    assert "run 1 (toy.loss)" in report.sentence() and report.rate == 0.5

    # a tolerance the template declares is what such a metric may move by
    (idea / "template.json").write_text(json.dumps({"metrics": {"loss": {"tolerance": 1.0}}}))
    tolerant = reproduce(idea, get_settings())
    assert tolerant.rate == 1.0 and tolerant.runs[1].checks[0].basis == "tolerance"


@pytest.mark.docker
def test_a_reproduction_in_docker_records_the_image_and_its_versions(idea: Path, aisci_env) -> None:
    aisci_env(AISCI_SANDBOX_BACKEND="docker", AISCI_SANDBOX_IMAGE="aisci-experiment:cpu")
    report = reproduce(idea, get_settings(), runs=[1])
    assert report.rate == 1.0 and report.backend == "docker" and report.image_id.startswith("sha256:")
    manifest = json.loads((idea / "reproductions/1/manifest.json").read_text())
    assert manifest["image_id"] == report.image_id
    assert manifest["runtime"]["torch"].endswith("+cpu") and manifest["runtime"]["cuda"] is None
