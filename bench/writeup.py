"""The writeup's own cost with the scripted model: one LaTeX build, a whole writeup, and the prompt each
writing call sends, on an idea the experiment stage produced with 100 extra metrics per group.

    .venv/bin/python bench/writeup.py [--repeats 3] [--extra-metrics 100]

The scripted model answers instantly, so the whole-writeup time is aisci's own cost: prompts, the claim
check, citations, assembling the source and the builds. The prompt figures are what a hosted model would be
sent (and billed for) per writing call.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from scripted_server import ScriptedServer  # noqa: E402
from writeup_fixture import finished_idea, script, search  # noqa: E402

from aisci import prefect_env  # noqa: E402
from aisci.llm import Gateway  # noqa: E402
from aisci.settings import Settings, get_settings  # noqa: E402
from aisci.writeup import write_paper  # noqa: E402
from aisci.writeup.build import compile_latex  # noqa: E402


def set_env(**values: object) -> None:
    os.environ.update({name: str(value) for name, value in values.items()})
    get_settings.cache_clear()


def writing_prompts(idea: Path, after: float) -> list[int]:
    """Prompt tokens of each writing call in the idea's transcript since `after`."""
    gateway = Gateway(get_settings())
    tokens = []
    for line in (idea / "transcript.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["role"] == "writing" and record["ts"] >= after:
            text = "\n".join(str(m["content"]) for m in record["messages"])
            tokens.append(gateway.count_tokens("writing", text))
    return tokens


def main(repeats: int, extra_metrics: int) -> None:
    from prefect.testing.utilities import prefect_test_harness

    root = Path(tempfile.mkdtemp())
    prefect_env.apply(Settings(workspace=root / "prefect"))
    with prefect_test_harness(server_startup_timeout=120), ScriptedServer([]) as server:
        made = finished_idea(root / "made", server, set_env, extra_metrics=extra_metrics)
        notes = (made / "notes.txt").stat().st_size
        whole, builds, calls, prompts = [], [], [], []
        for number in range(repeats):
            idea = shutil.copytree(made, root / f"copy-{number}" / made.name)
            server.add(*script())
            before, started_at = len(server.requests), time.time()
            started = time.perf_counter()
            report = write_paper(idea, get_settings(), search=search)
            whole.append(time.perf_counter() - started)
            assert report.ok, report.problems
            calls.append(len(server.requests) - before)
            prompts += writing_prompts(idea, started_at)
            tex = idea / "latex" / "paper.tex"
            for leftover in tex.parent.glob("paper.*"):
                if leftover.suffix not in (".tex", ".bib"):
                    leftover.unlink()
            ok, _, seconds = compile_latex(tex)
            assert ok
            builds.append(seconds)
    print(f"repeats:                          {repeats}")
    print(f"metrics per group:                {extra_metrics + 4}; notes.txt {notes} bytes")
    print(f"one LaTeX build from clean:       {statistics.median(builds):.2f} s (median)")
    print(f"whole writeup, scripted model:    {statistics.median(whole):.2f} s (median, {calls[0]} calls)")
    print(
        f"prompt tokens per writing call:   median {statistics.median(prompts):.0f}, "
        f"max {max(prompts)} (window {Gateway(get_settings()).context_window('writing')})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--extra-metrics", type=int, default=100)
    args = parser.parse_args()
    main(args.repeats, args.extra_metrics)
