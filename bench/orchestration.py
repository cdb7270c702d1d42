"""What Prefect costs and saves, measured in one run with the scripted model and the local sandbox:

1. the idea pipeline as a Prefect flow against the same stages called directly (goal <= 1.05, with at least
   60 s of experiment work);
2. re-running an idea whose last stage failed against running it whole (goal <= 0.10);
3. a sweep of 8 ideas on 2 slots against the ideal makespan, the ideas' summed time over 2 (goal <= 1.15).

    .venv/bin/python bench/orchestration.py [--work-s 30] [--ideas 8]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from scripted_server import ScriptedServer  # noqa: E402
from toy_template import EXPERIMENT_RULES, REVIEW, make_toy_template, save_toy_idea  # noqa: E402
from writeup_fixture import script as writeup_script  # noqa: E402


def rules(review_status: int | None = None) -> list[dict]:
    review = {"role": "review", "status": review_status} if review_status else {}
    return [
        {"contains": "Reply with: OK", "reply": "OK"},
        *EXPERIMENT_RULES,
        review or {"role": "review", "reply": REVIEW},
        *writeup_script(),
    ]


def direct(folder: Path, options) -> None:
    """The same stages, no Prefect."""
    from aisci import idea_folder
    from aisci.experiment import ExperimentContext, Limits, plots, runs
    from aisci.review import ReviewSteps, review_paper
    from aisci.settings import get_settings
    from aisci.writeup import write_paper

    settings = get_settings()
    template = idea_folder.prepare(folder, settings.workspace)
    limits = Limits(max_runs=options.max_runs, max_attempts=1, timeout_s=settings.run_timeout_s)
    context = ExperimentContext(settings, folder, limits)
    runs.ensure_baseline(context)
    for run in range(1, options.max_runs + 1):
        if runs.attempt(context, run, 1).status == "done":
            break
    plots.make_figures(context)
    report = write_paper(folder, settings, options.writeup, template_dir=template)
    review_paper(report.pdf, ReviewSteps(settings, options.review, folder))


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work-s", type=float, default=30.0, help="seconds each experiment run works")
    parser.add_argument("--ideas", type=int, default=8)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="aisci-bench-"))
    with ScriptedServer(rules()) as server:
        os.environ.update(
            AISCI_WORKSPACE=str(root / "ws"),
            AISCI_SANDBOX_BACKEND="local",
            AISCI_MODELS__DEFAULT="openai/scripted",
            AISCI_LLM__API_BASE=server.url,
            AISCI_RUN_TIMEOUT_S="600",
        )
        from aisci import prefect_env
        from aisci.review import ReviewConfig

        prefect_env.apply()
        from aisci.pipeline import IdeaOptions
        from flows.idea import idea_flow
        from flows.preflight import preflight_flow

        template = make_toy_template(root / "toy")
        code = (template / "experiment.py").read_text()
        (template / "experiment.py").write_text(f"import time\ntime.sleep({args.work_s})\n" + code)
        workspace = root / "ws"
        options = IdeaOptions(max_runs=2, max_attempts=1, review=ReviewConfig(ensemble=1, reflections=0))
        preflight_flow()  # starts the embedded Prefect API outside the timings

        direct_s = timed(
            lambda: direct(save_toy_idea(workspace, str(template), "direct", "idea_direct"), options)
        )
        flow_s = timed(
            lambda: idea_flow(str(save_toy_idea(workspace, str(template), "flow", "idea_flow")), options)
        )
        print(f"experiment work per idea:  {2 * args.work_s:.0f} s (run_0 and run_1)")
        print(f"stages called directly:    {direct_s:.1f} s")
        print(f"idea flow on Prefect:      {flow_s:.1f} s")
        print(f"ratio flow/direct:         {flow_s / direct_s:.3f}  (goal <= 1.05)")

        server.rules[:] = rules(review_status=401)
        failing = save_toy_idea(workspace, str(template), "resume", "idea_resume")
        idea_flow(str(failing), options, return_state=True)
        server.rules[:] = rules()
        resume_s = timed(lambda: idea_flow(str(failing), options))
        print(f"re-run after a failed review: {resume_s:.1f} s")
        print(f"ratio resume/full:         {resume_s / flow_s:.3f}  (goal <= 0.10)")

        sweep(args, template, workspace, options, flow_s)


def sweep(args, template: Path, workspace: Path, options, one_idea_s: float) -> None:
    """8 ideas through the sweep's parallel section (ideas already generated), 2 at a time."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.futures import wait

    from flows.sweep import MAX_PARALLEL, run_idea

    folders = [save_toy_idea(workspace, str(template), "sweep", f"idea_{i}") for i in range(args.ideas)]
    slots = "bench-sweep"
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(slots, limit=2)

    @flow(name="bench-sweep")
    def parallel() -> None:
        wait([run_idea.submit(str(f), options, str(workspace / "sweep"), slots) for f in folders])

    from prefect.task_runners import ThreadPoolTaskRunner

    makespan = timed(parallel.with_options(task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL)))
    ideal = args.ideas * one_idea_s / 2
    print(f"sweep of {args.ideas} ideas on 2 slots: {makespan:.1f} s; ideal {ideal:.1f} s")
    print(f"ratio makespan/ideal:      {makespan / ideal:.3f}  (goal <= 1.15)")


if __name__ == "__main__":
    main()
