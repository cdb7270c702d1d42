"""A finished idea for writeup tests and the bench: template, runs, notes, a figure, novelty papers, and
scripted model replies for every section."""

import json
import struct
import zlib
from pathlib import Path

from aisci.literature.models import Paper

BASELINE = {
    "circle": {
        "means": {"eval_loss": 0.4412, "kl_div": 0.3521},
        "stderrs": {"eval_loss": 0.0031, "kl_div": 0.0121},
    },
}
COSINE = {
    "circle": {
        "means": {"eval_loss": 0.4301, "kl_div": 0.2874},
        "stderrs": {"eval_loss": 0.0029, "kl_div": 0.0098},
    },
}
NOTES = """# Cosine noise schedules for 2-D diffusion
## Run 0: linear beta schedule from 0.0001 to 0.02 (baseline)
## Run 1: cosine schedule
Description: the cosine schedule of alpha-bar with offset 0.008; 100 timesteps, MLP with 3 hidden layers.
## Run 2: sigmoid schedule
Description: crashed with a NaN loss, no results.
Figure kl_circle.png: samples of the baseline and of the cosine schedule on the circle dataset.
"""
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

SECTION_TEXT = {
    "Abstract": "We study cosine noise schedules for diffusion on 2-D data. The cosine schedule lowers the "
    "KL divergence on circle from 0.3521 to 0.2874.",
    "Introduction": "Diffusion models \\citep{ho2020denoising} generate data by reversing a noising process "
    "\\citep{sohl2015deep}.\n\\begin{itemize}\n\\item We compare noise schedules.\n\\end{itemize}",
    "Background": "A forward process adds Gaussian noise over $T$ steps \\citep{nichol2021improved}.",
    "Method": "We replace the linear schedule with the cosine schedule of \\citet{nichol2021improved}.",
    "Experimental Setup": "We train on the circle dataset for 100 timesteps and report eval\\_loss and "
    "kl\\_div, where lower is better.",
    "Results": "Table~\\ref{tab:results-1} lists the results. Run 1 has a lower kl\\_div than the baseline "
    "(0.2874 against 0.3521), an 18.4\\% reduction.\n\\begin{figure}[t]\n\\centering\n"
    "\\includegraphics[width=0.5\\linewidth]{kl_circle.png}\n\\caption{Samples on circle.}\n\\end{figure}",
    "Conclusion": "Cosine schedules help on small 2-D problems; future work tests larger data.",
    "Related Work": "Noise schedules were studied by \\citet{chen2023importance} and "
    "\\citet{nichol2021improved}; unlike them we study 2-D data \\citep{fake2099missing}.",
}


def png(width: int = 4, height: int = 4) -> bytes:
    """A tiny grey PNG, so the fixture needs no plotting library."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def finished_idea(root: Path, runs: tuple[dict, ...] = (BASELINE, COSINE), smoke: bool = False) -> Path:
    """An idea folder as the experiment stage leaves it; run_2 failed and has no final_info.json."""
    idea = root / "sweep" / "cosine_schedule"
    (idea / "latex").mkdir(parents=True)
    (idea / "latex" / "template.tex").write_text(TEMPLATE)
    (idea / "latex" / "references.bib").write_text(TEMPLATE_BIB)
    (idea / "idea.json").write_text(
        json.dumps(
            {
                "Name": "cosine_schedule",
                "Title": "Cosine Noise Schedules for Low-Dimensional Diffusion",
                "Experiment": "Swap the linear beta schedule for a cosine one and compare KL on circle.",
            }
        )
    )
    (idea / "notes.txt").write_text(NOTES)
    (idea / "novelty.json").write_text(
        json.dumps(
            {
                "idea": "cosine_schedule",
                "verdict": "novel",
                "closest": [IMPROVED.model_dump()],
                "queries": [
                    {
                        "query": "noise schedule diffusion",
                        "papers": [IMPROVED.model_dump(), DDPM.model_dump()],
                    }
                ],
            }
        )
    )
    for index, info in enumerate(runs):
        info = json.loads(json.dumps(info))
        if smoke:
            for group in info.values():
                group["smoke"] = True
        (idea / f"run_{index}").mkdir()
        (idea / f"run_{index}" / "final_info.json").write_text(json.dumps(info))
    (idea / f"run_{len(runs)}").mkdir()
    (idea / "kl_circle.png").write_bytes(png())
    return idea


def search(query: str, limit: int) -> list[Paper]:
    """A literature search that always finds the same three papers."""
    return [DDPM, IMPROVED, SCHEDULES][:limit]


def script(overrides: dict[str, str] | None = None) -> list[dict]:
    """Replies for a whole writeup: citation rounds, then each section's draft and its critique."""
    texts = {**SECTION_TEXT, **(overrides or {})}
    rules: list[dict] = [
        {"contains": "Pick the papers worth citing", "reply": '{"picks": [0, 1, 2]}'},
        {
            "contains": "Name one search query",
            "reply": '{"done": false, "query": "diffusion noise schedule"}',
            "times": 1,
        },
        {"contains": "Name one search query", "reply": '{"done": true}'},
    ]
    rules += [{"contains": f"Critique your {title} draft", "reply": text} for title, text in texts.items()]
    rules.append({"role": "writing", "reply": "A first draft."})
    return rules
