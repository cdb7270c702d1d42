"""A finished idea for writeup tests and benches, made by the experiment stage's own code.

`finished_idea` runs the real experiment stage (`flows.experiment.run_experiments`, local sandbox, scripted
coding model) on a small template that declares its metrics, reports seeds, an unreached metric and as many
extra metrics as asked; plot.py draws two figures into figures/. `script` gives the writing model's replies.
"""

import json
import textwrap
from pathlib import Path

from toy_template import edit, step

from aisci.literature.models import Paper

EXPERIMENT = textwrap.dedent(
    """\
    import argparse
    import json
    import statistics
    from pathlib import Path

    LR = 0.1
    SEEDS = (0, 1, 2)
    GROUPS = ("alpha", "beta")
    EXTRA_METRICS = 0
    TARGET_ACCURACY = 0.988
    N_TRAIN = 512

    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", default="run_0")
    out = Path(parser.parse_args().out_dir)
    out.mkdir(parents=True, exist_ok=True)
    final = {}
    for g, group in enumerate(GROUPS):
        seeds = []
        for seed in SEEDS:
            loss = (LR - 0.03) ** 2 + 0.01 * (g + 1) + 0.0003 * seed
            metrics = {"loss": loss, "accuracy": 1 - loss, "train_time": 1.5 + g}
            if 1 - loss >= TARGET_ACCURACY:
                metrics["steps_to_target"] = 100 + 10 * seed
            for k in range(EXTRA_METRICS):
                metrics[f"probe_{k}_divergence"] = loss * (k + 1) / 7
            seeds.append(metrics)
        names = [m for m in seeds[0] if all(m in s for s in seeds)]
        means = {m: statistics.mean(s[m] for s in seeds) for m in names}
        stderrs = {m: statistics.stdev(s[m] for s in seeds) / len(seeds) ** 0.5 for m in names}
        final[group] = {"means": means, "stderrs": stderrs}
        if "steps_to_target" not in names:
            final[group]["unreached"] = ["steps_to_target"]
    (out / "final_info.json").write_text(json.dumps(final))
    config = {"lr": LR, "seeds": list(SEEDS), "n_train": N_TRAIN, "target_accuracy": TARGET_ACCURACY}
    (out / "config.json").write_text(json.dumps(config))
    """
)
PLOT = textwrap.dedent(
    """\
    import argparse
    import json
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {
        "run_0": "Baseline",
    }

    parser = argparse.ArgumentParser()
    parser.add_argument("--out_dir", default=".")
    out = Path(parser.parse_args().out_dir)
    out.mkdir(parents=True, exist_ok=True)
    infos = {run: json.loads(Path(run, "final_info.json").read_text()) for run in labels}
    for metric in ("loss", "accuracy"):
        fig, ax = plt.subplots(figsize=(6, 3))
        for i, (run, info) in enumerate(infos.items()):
            values = [info[g]["means"][metric] for g in info]
            ax.bar([x + 0.4 * i for x in range(len(values))], values, width=0.4, label=labels[run])
        ax.set_xticks(range(len(infos["run_0"])), list(infos["run_0"]))
        ax.set_ylabel(metric)
        ax.legend()
        fig.savefig(out / f"{metric}.png", dpi=100)
    """
)
SPEC = {
    "page_limit": 8,
    "metrics": {
        "loss": {"direction": "lower", "primary": True, "label": "loss", "description": "test loss"},
        "accuracy": {"direction": "higher", "primary": True, "description": "test accuracy"},
        "steps_to_target": {
            "direction": "lower",
            "primary": True,
            "label": "steps to 98.8%",
            "description": "first step at which accuracy reaches the target",
        },
        "train_time": {"direction": "lower", "timing": True, "description": "seconds of training"},
    },
}
TEMPLATE = r"""\documentclass{article}
\usepackage[utf8]{inputenc}
\usepackage[T1]{fontenc}
\usepackage{natbib}
\usepackage{graphicx}
\title{TITLE}
\begin{document}
\maketitle
\section{Introduction}
INTRODUCTION HERE
\bibliographystyle{plainnat}
\bibliography{references}
\end{document}
"""
TEMPLATE_BIB = """@inproceedings{sohl2015deep,
  title = {Deep Unsupervised Learning using Nonequilibrium Thermodynamics},
  author = {Sohl-Dickstein, Jascha and Weiss, Eric and Maheswaranathan, Niru and Ganguli, Surya},
  booktitle = {ICML},
  year = {2015}
}
"""
DDPM = Paper(
    paper_id="ddpm",
    title="Denoising Diffusion Probabilistic Models",
    year=2020,
    venue="NeurIPS",
    authors=["Jonathan Ho", "Ajay Jain", "Pieter Abbeel"],
)
IMPROVED = Paper(
    paper_id="iddpm",
    title="Improved Denoising Diffusion Probabilistic Models",
    year=2021,
    venue="ICML",
    authors=["Alex Nichol", "Prafulla Dhariwal"],
)
SCHEDULES = Paper(
    paper_id="sched",
    title="On the Importance of Noise Scheduling for Diffusion Models & 50% Fewer Steps",
    year=2023,
    venue="arXiv",
    authors=["Ting Chen", "Jürgen Müller"],
)
RUN_LABEL = "learning rate 0.03"
FIGURE_NOTES = json.dumps(
    {
        "figures": [
            {"file": "figures/loss.png", "description": "Test loss per group: the lower learning rate wins."},
            {"file": "figures/accuracy.png", "description": "Test accuracy per group for both runs."},
        ]
    }
)
SECTION_TEXT = {
    "Abstract": "We study the learning rate of a small model. A lower learning rate lowers the test loss.",
    "Introduction": "Diffusion models \\citep{ho2020denoising} generate data by reversing a noising process "
    "\\citep{sohl2015deep}.\n\\begin{itemize}\n\\item We compare learning rates.\n\\end{itemize}",
    "Background": "A model is trained with gradient descent \\citep{nichol2021improved}.",
    "Method": "We lower the learning rate from the baseline's value.",
    "Experimental Setup": "Each run trains on 512 examples with 3 seeds; the baseline uses a learning rate "
    "of 0.1 and Run 1 uses 0.03.",
    "Results": "Table~\\ref{tab:results-1} lists the results. Run 1 has a lower loss than the baseline on "
    "alpha, as Figure~\\ref{fig:loss} shows; Figure~\\ref{fig:accuracy} shows the accuracy.",
    "Conclusion": "A lower learning rate helps this model; future work tests larger data.",
    "Related Work": "Noise schedules were studied by \\citet{chen2023importance} and "
    "\\citet{nichol2021improved}; unlike them we study learning rates \\citep{fake2099missing}.",
}


def make_paper_template(folder: Path, extra_metrics: int = 0, page_limit: int = 8) -> Path:
    """experiment.py, plot.py, prompt.json, template.json and the LaTeX skeleton."""
    (folder / "latex").mkdir(parents=True)
    code = EXPERIMENT.replace("EXTRA_METRICS = 0", f"EXTRA_METRICS = {extra_metrics}")
    (folder / "experiment.py").write_text(code)
    (folder / "plot.py").write_text(PLOT)
    (folder / "prompt.json").write_text(
        json.dumps({"system": "You study learning rates.", "task_description": "A small model."})
    )
    (folder / "template.json").write_text(json.dumps({**SPEC, "page_limit": page_limit}))
    (folder / "latex" / "template.tex").write_text(TEMPLATE)
    (folder / "latex" / "references.bib").write_text(TEMPLATE_BIB)
    return folder


def experiment_rules() -> list[dict]:
    """The coding model's replies: run 1 lowers the learning rate, then it is done; plot labels; notes."""
    added = f'    "run_0": "Baseline",\n    "run_1": "{RUN_LABEL}",'
    return [
        {"contains": "Reply with: OK", "reply": "OK"},  # preflight's one tiny call per model
        {"contains": "Edit plot.py", "reply": step(edits=edit("plot.py", '    "run_0": "Baseline",', added))},
        {"contains": "These figures were made", "reply": FIGURE_NOTES},
        {"contains": "this is run 2", "reply": step("done", thought="run 1 answered it")},
        {
            "contains": "this is run 1",
            "reply": json.dumps(
                {
                    "thought": "A smaller step should lower the loss.",
                    "action": "run",
                    "label": RUN_LABEL,
                    "description": "Lower the learning rate from 0.1 to 0.03.",
                    "edits": edit("experiment.py", "LR = 0.1", "LR = 0.03"),
                }
            ),
        },
    ]


def finished_idea(root: Path, scripted, set_env, extra_metrics: int = 0, page_limit: int = 8) -> Path:
    """An idea folder exactly as the experiment stage leaves it: baseline, run 1, notes, figures.

    Needs the Prefect harness and the scripted model server; `set_env(**values)` sets the environment the
    stage reads (the `aisci_env` fixture in tests)."""
    from flows.experiment import run_experiments

    idea = make_paper_template(root / "sweep" / "lower_lr", extra_metrics, page_limit)
    (idea / "idea.json").write_text(
        json.dumps({"Name": "lower_lr", "Title": "Efficient Training: a Lower Learning Rate Suffices"})
    )
    (idea / "novelty.json").write_text(
        json.dumps(
            {
                "idea": "lower_lr",
                "verdict": "novel",
                "queries": [{"query": "learning rate", "papers": [IMPROVED.model_dump(), DDPM.model_dump()]}],
            }
        )
    )
    set_env(
        AISCI_WORKSPACE=root / "ws",
        AISCI_SANDBOX_BACKEND="local",
        AISCI_MODELS__DEFAULT="openai/scripted",
        AISCI_LLM__API_BASE=scripted.url,
        AISCI_RUN_TIMEOUT_S=60,
        AISCI_LLM__RETRY_BASE_DELAY_S=0.01,
    )
    scripted.add(*experiment_rules())
    run_experiments(str(idea), max_runs=2)
    return idea


def search(query: str, limit: int) -> list[Paper]:
    """A literature search that always finds the same three papers."""
    return [DDPM, IMPROVED, SCHEDULES][:limit]


def script(overrides: dict[str, str] | None = None) -> list[dict]:
    """Replies for a whole writeup: citation rounds, then each section's draft and its critique."""
    texts = {**SECTION_TEXT, **(overrides or {})}
    rules: list[dict] = [
        {"contains": "Pick the papers worth citing", "reply": '{"picks": [0, 1, 2]}'},
        {"contains": "Pick the metrics for the main results table", "reply": '{"metrics": []}'},
        {
            "contains": "Name one search query",
            "reply": '{"done": false, "query": "diffusion noise schedule"}',
            "times": 1,
        },
        {"contains": "Name one search query", "reply": '{"done": true}'},
    ]
    rules += [{"contains": f"Critique your {title} draft", "reply": text} for title, text in texts.items()]
    rules += [
        {"contains": f"The {title} section below has problems", "reply": text}
        for title, text in texts.items()
    ]
    rules.append({"role": "writing", "reply": "A first draft."})
    return rules
