"""Idea folders through fsspec storage: a GPU host with its own workspace pulls the idea, runs it, and pushes
the results (failed attempts included) back."""

import json
import os

import pytest
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


def test_an_idea_sent_through_storage_spends_only_the_share_it_took_along(
    prefect_harness, scripted, isolated, aisci_env, scripted_env
):
    """The GPU host cannot lock the sweep's ledger, so the idea takes an escrow: at most its share of what the
    sweep has left, whatever budget the GPU host itself is given. The coding model is priced (gpt-4o): a
    call's worst case, its 16,384-token output limit, is about $0.17."""
    from aisci.errors import BudgetExceeded
    from aisci.llm import escrow
    from aisci.llm.ledger import Ledger
    from aisci.llm.transcript import Transcript
    from flows.experiment import run_experiments
    from flows.remote import ended_error, through_storage

    store, head, gpu_host = isolated / "store", isolated / "idea-host", isolated / "gpu-host"

    def on_host(workspace, budget_usd):
        scripted_env(workspace)
        aisci_env(
            AISCI_STORAGE_URL=f"file://{store}",
            AISCI_MODELS__CODING="openai/gpt-4o",
            AISCI_BUDGET_USD=budget_usd,
        )
        return get_settings()

    folder = make_toy_template(on_host(head, 0.3).workspace / "sweep" / "tune-lr")
    (folder / "idea.json").write_text(json.dumps({"Name": "tune-lr"}))
    scripted.add(*EXPERIMENT_RULES)

    def send(budget_usd):
        """remote_experiment's way through storage, with the GPU host's flow run in this process."""
        head_settings = on_host(head, budget_usd)

        def on_gpu_host(idea_dir):
            on_host(gpu_host, 100.0)
            try:
                return run_experiments(idea_dir, max_runs=2, return_state=True)
            finally:
                on_host(head, budget_usd)

        return through_storage(head_settings, folder, 2, on_gpu_host)

    stopped = send(0.3)  # half of $0.30 is below one call's worst case: nothing is sent
    error = ended_error("experiment", stopped)
    assert isinstance(error, BudgetExceeded), error
    assert "share of the budget sent with this idea is spent" in error.message
    assert not [r for r in scripted.requests if "this is run 1" in json.dumps(r["body"])]
    assert (folder / "run_0" / "final_info.json").is_file()  # the baseline came back
    state = Ledger(folder.parent).state()
    assert state.spent_usd == 0 and state.reserved == [] and not (folder / escrow.ESCROW).exists()

    finished = send(1.0)  # a higher budget resumes: $0.50 goes along
    assert finished.is_completed() and finished.result().runs == [1]
    spent = Transcript(folder / "transcript.jsonl", []).spent_usd()
    state = Ledger(folder.parent).state()
    assert 0 < spent == pytest.approx(state.spent_usd) and state.reserved == []
    assert state.idea_spent_usd == {"tune-lr": pytest.approx(spent)}
