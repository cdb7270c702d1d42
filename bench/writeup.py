"""Time of one LaTeX build (latexmk: pdflatex + bibtex) and of a whole writeup with the scripted model.

    .venv/bin/python bench/writeup.py [--repeats 3]

The scripted model answers instantly, so the whole-writeup time is aisci's own cost: prompts, the claim
check, citations, assembling the source and the builds.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scripted_server import ScriptedServer  # noqa: E402
from writeup_fixture import finished_idea, script, search  # noqa: E402

from aisci.settings import LLMOptions, RoleModels, Settings  # noqa: E402
from aisci.writeup import write_paper  # noqa: E402
from aisci.writeup.build import compile_latex  # noqa: E402


def main(repeats: int) -> None:
    whole, builds, calls = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as root, ScriptedServer(script()) as server:
            idea = finished_idea(Path(root))
            settings = Settings(
                workspace=Path(root) / "ws",
                models=RoleModels(default="openai/scripted"),
                llm=LLMOptions(api_base=server.url),
            )
            started = time.perf_counter()
            report = write_paper(idea, settings, search=search)
            whole.append(time.perf_counter() - started)
            assert report.ok, report.remaining
            calls.append(len(server.requests))
            tex = idea / "latex" / "paper.tex"
            for leftover in tex.parent.glob("paper.*"):
                if leftover.suffix not in (".tex", ".bib"):
                    leftover.unlink()
            ok, _, seconds = compile_latex(tex)
            assert ok
            builds.append(seconds)
    print(f"repeats:                        {repeats}")
    print(f"one LaTeX build from clean:     {statistics.median(builds):.2f} s (median)")
    print(
        f"whole writeup, scripted model:  {statistics.median(whole):.2f} s (median, {calls[0]} model calls)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    main(parser.parse_args().repeats)
