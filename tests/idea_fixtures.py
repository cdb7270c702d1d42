"""A toy research template and model replies shared by the idea tests."""

import json
from pathlib import Path

SEEDS = [
    {
        "Name": "learning_rate_warmup",
        "Title": "Learning rate warmup for small diffusion models",
        "Experiment": "Add linear warmup to the optimiser.",
        "Interestingness": 4,
        "Feasibility": 9,
        "Novelty": 2,
    }
]


def make_template(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "experiment.py").write_text("print('train a tiny DDPM')\n")
    (folder / "prompt.json").write_text(
        json.dumps({"system": "You are a diffusion researcher.", "task_description": "Improve a 2D DDPM."})
    )
    (folder / "seed_ideas.json").write_text(json.dumps(SEEDS))
    return folder


def draft(name: str, title: str, hypothesis: str, i: int = 5, f: int = 5, n: int = 5) -> str:
    """An idea as the model would reply it."""
    return json.dumps(
        {
            "name": name,
            "title": title,
            "hypothesis": hypothesis,
            "experiment": "Change the noise schedule in experiment.py and compare with run_0.",
            "risks": "The effect may be within seed noise.",
            "interestingness": i,
            "feasibility": f,
            "novelty": n,
        }
    )


def step(decision: str, query: str = "", closest: list[int] | None = None, justification: str = "") -> str:
    """A novelty round as the model would reply it."""
    return json.dumps(
        {
            "thought": "Checking prior work.",
            "decision": decision,
            "query": query,
            "closest": closest or [],
            "justification": justification,
        }
    )


def sweep_rules() -> list[dict]:
    """Every model reply a one-idea sweep on the toy template needs, from preflight to review."""
    from toy_template import EXPERIMENT_RULES, REVIEW
    from writeup_fixture import script as writeup_script

    return [
        {"contains": "Reply with: OK", "reply": "OK"},
        {
            "contains": "Propose idea 1 of 1",
            "reply": draft("ema_weights", "EMA of weights", "EMA helps.", 8, 8, 8),
        },
        {"contains": "The idea: ", "reply": step("search", query="prior work")},
        *EXPERIMENT_RULES,
        {"role": "review", "reply": REVIEW},
        *writeup_script(),
    ]
