"""Idea folders through fsspec storage: a GPU host with its own workspace pulls the idea, runs it, and pushes
the results (failed attempts included) back."""

import json
import os

from toy_template import EXPERIMENT_RULES, make_toy_template

from aisci import storage
from aisci.settings import get_settings


def test_push_and_pull_mirror_the_workspace_and_skip_links(isolated, aisci_env):
    aisci_env(AISCI_WORKSPACE=isolated / "ws", AISCI_STORAGE_URL=f"file://{isolated / 'store'}")
    settings = get_settings()
    folder = make_toy_template(settings.workspace / "sweep" / "idea")
    (folder / "run_0").mkdir()
    (folder / "run_0" / "final_info.json").write_text("{}")
    os.symlink("/etc/passwd", folder / "leak")
    assert storage.push(settings, folder) == 6
    assert (isolated / "store" / "sweep" / "idea" / "run_0" / "final_info.json").is_file()
    assert not (isolated / "store" / "sweep" / "idea" / "leak").exists()
    aisci_env(AISCI_WORKSPACE=isolated / "other-host")
    elsewhere = get_settings().workspace / "sweep" / "idea"
    assert storage.pull(get_settings(), elsewhere) == 6
    assert (elsewhere / "latex" / "template.tex").read_text() == (
        folder / "latex" / "template.tex"
    ).read_text()


def test_experiments_on_a_host_that_only_has_the_storage(
    prefect_harness, scripted, isolated, aisci_env, scripted_env
):
    from flows.experiment import run_experiments

    store = isolated / "store"
    aisci_env(AISCI_WORKSPACE=isolated / "idea-host", AISCI_STORAGE_URL=f"file://{store}")
    folder = make_toy_template(get_settings().workspace / "sweep" / "tune-lr")
    (folder / "idea.json").write_text(json.dumps({"Name": "tune-lr"}))
    storage.push(get_settings(), folder)
    scripted_env(isolated / "gpu-host")
    scripted.add(*EXPERIMENT_RULES)
    summary = run_experiments("sweep/tune-lr", max_runs=2)
    assert summary.runs == [1]
    assert (isolated / "gpu-host" / "sweep" / "tune-lr" / "run_1.py").is_file()
    assert json.loads((store / "sweep" / "tune-lr" / "run_1" / "final_info.json").read_text())["toy"]
    assert (store / "sweep" / "tune-lr" / "experiment.json").is_file()
