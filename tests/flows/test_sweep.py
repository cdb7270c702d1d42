"""A whole sweep with the scripted model: two ideas run in parallel, one fails, the other reaches review."""

import json

from idea_fixtures import SEEDS, draft
from idea_fixtures import step as novelty_step
from toy_template import EXPERIMENT_RULES, REVIEW, edit, make_toy_template, step
from writeup_fixture import script as writeup_script

from aisci.literature import S2Options
from aisci.review import ReviewConfig


def test_one_failing_idea_never_stops_the_others(prefect_harness, scripted, isolated, scripted_env):
    from prefect.artifacts import Artifact

    from aisci.literature import NoveltyOptions
    from aisci.pipeline import IdeaOptions, SweepOptions
    from flows.sweep import sweep_flow

    template = make_toy_template(isolated / "templates" / "toy")
    (template / "seed_ideas.json").write_text(json.dumps(SEEDS))
    scripted_env(isolated / "ws")
    broken = step(edits=edit("experiment.py", "loss = (LR - 0.03) ** 2", "loss = 1 / 0"))
    scripted.add(
        {"contains": "Reply with: OK", "reply": "OK"},
        {
            "contains": "Propose idea 1 of 2",
            "reply": draft("ema_weights", "EMA of weights", "EMA helps.", 8, 8, 8),
        },
        {"contains": "Propose idea 2 of 2", "reply": draft("wide_mlp", "Wider MLP", "Width helps.", 6, 6, 6)},
        {"contains": "The idea: ", "reply": novelty_step("search", query="prior work")},
        {"contains": "Wider MLP", "reply": broken},
        *EXPERIMENT_RULES,
        {"role": "review", "reply": REVIEW},
        *writeup_script(),
    )
    unreachable = S2Options(api_url="http://127.0.0.1:9", max_retries=0, timeout_s=2)  # discard port: refused
    options = SweepOptions(
        num_ideas=2,
        reflections=0,
        top_k=2,
        parallel=2,
        novelty=NoveltyOptions(rounds=2, s2=unreachable),
        idea=IdeaOptions(
            max_runs=2, max_attempts=1, review=ReviewConfig(ensemble=1, reflections=0), reproduce=True
        ),
    )
    summary = sweep_flow("toy", options, sweep_id="sweep-2")
    outcomes = {o.idea: o for o in summary.outcomes}
    assert outcomes["ema_weights"].status == "done"
    assert outcomes["ema_weights"].result.pdf.endswith("paper.pdf")
    assert outcomes["wide_mlp"].status == "failed" and "no run succeeded" in outcomes["wide_mlp"].detail
    ideas = json.loads((isolated / "ws" / "sweep-2" / "ideas.json").read_text())["ideas"]
    assert {i["novelty"]["verdict"] for i in ideas} == {"unknown"}  # S2 unreachable: run, marked
    table = str(Artifact.get("sweep-summary").data)
    assert "ema_weights" in table and "reproduction rate 100%" in table
    # the toy runs are deterministic: the reproduce stage re-ran both and every number agreed
    assert outcomes["ema_weights"].result.reproduction_rate == 1.0 and summary.reproduction_rate == 1.0
    tex = (isolated / "ws" / "sweep-2" / "ema_weights" / "latex" / "paper.tex").read_text()
    assert "\\paragraph{Reproduction.}" in tex


def test_a_spent_budget_stops_the_sweep_and_a_higher_one_resumes_it(
    prefect_harness, scripted, isolated, scripted_env, aisci_env
):
    """The coding model is priced: its first call's worst case does not fit the budget, so it is never sent,
    the idea ends `stopped` with its folder kept, and the same sweep with a higher budget finishes it."""
    from aisci.literature import NoveltyOptions
    from aisci.llm.ledger import Ledger
    from aisci.pipeline import IdeaOptions, SweepOptions
    from flows.sweep import sweep_flow

    template = make_toy_template(isolated / "templates" / "toy")
    (template / "seed_ideas.json").write_text(json.dumps(SEEDS))
    scripted_env(isolated / "ws")
    aisci_env(AISCI_MODELS__CODING="openai/gpt-4o", AISCI_BUDGET_USD=0.01)  # worst case of a call: > $0.04
    scripted.add(
        {"contains": "Reply with: OK", "reply": "OK"},
        {
            "contains": "Propose idea 1 of 1",
            "reply": draft("ema_weights", "EMA of weights", "EMA helps.", 8, 8, 8),
        },
        {"contains": "The idea: ", "reply": novelty_step("search", query="prior work")},
        *EXPERIMENT_RULES,
        {"role": "review", "reply": REVIEW},
        *writeup_script(),
    )
    unreachable = S2Options(api_url="http://127.0.0.1:9", max_retries=0, timeout_s=2)
    options = SweepOptions(
        num_ideas=1,
        reflections=0,
        top_k=1,
        parallel=1,
        novelty=NoveltyOptions(rounds=2, s2=unreachable),
        idea=IdeaOptions(max_runs=1, max_attempts=1, review=ReviewConfig(ensemble=1, reflections=0)),
    )
    folder = isolated / "ws" / "budget" / "ema_weights"
    (stopped,) = sweep_flow("toy", options, sweep_id="budget").outcomes
    assert stopped.status == "stopped" and "budget" in stopped.detail
    assert (folder / "run_0" / "final_info.json").is_file() and not (folder / "run_1").exists()
    assert Ledger(folder.parent).state().spent_usd <= 0.01

    aisci_env(AISCI_BUDGET_USD=5)
    resumed = sweep_flow("toy", options, sweep_id="budget")
    (done,) = resumed.outcomes
    assert done.status == "done", done.detail
    assert (folder / "paper.pdf").is_file() and (folder / "review.json").is_file()
    assert 0 < Ledger(folder.parent).state().spent_usd <= 5
