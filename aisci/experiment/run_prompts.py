"""What the coding model is told for a run. Every prompt is rebuilt from the idea folder, so a resumed stage
sees exactly what an uninterrupted one would; the caller reads the folder, these builders only format."""

import json
from typing import Any

from aisci.edits import FORMAT_GUIDE
from aisci.experiment.folder import Attempt

SYSTEM = """You are an ML researcher running experiments to test an idea. You change the experiment code with
SEARCH/REPLACE blocks; each run executes `python experiment.py --out_dir=run_i` in a sandbox without network,
and its measured results come back to you. Keep experiment.py's command line and its final_info.json format
unchanged: {group: {"means": {metric: number}, "stderrs": {...}}}."""

CODE_SECTION = """
## Edit format
{format_guide}

## experiment.py now
```python
{code}
```
"""

PARAMS_SECTION = """
## Parameters
experiment.py takes these settings. A run may set any of them in "params", as a list of
{{"name": ..., "value": ...}}; the others keep the baseline's values.
{parameters}
"""

RUN_TASK = """{task}

## The idea
{idea}
{sections}
## Baseline results (run_0, measured)
{baseline}

## Notes so far
{notes}

You have {remaining} of {max_runs} runs left; this is run {run}. {ask}"""

ASK_EDITS = """Decide what run {run} should test and reply with action "run", a label of a few words naming
what the run changes (at most 60 characters, such as "cosine noise schedule"; tables and legends show it), a
one-paragraph description of the run for the notes, and {changes}. aisci adds the measured results to the
notes itself."""

ASK_PARAMS = """Decide which parameter settings run {run} should test for the idea, different from the earlier
runs, and reply with action "run", a one-sentence description of what the run tests, and the params. aisci
names the run by its settings and adds the measured results to the notes itself."""

ASK_DONE = """ Reply with action "done" when the runs so far answer the idea's question."""

RETRY = """
## Attempt {attempt} of run {run} failed
{failure}
Fix the problem and reply again for run {run}."""


def run_messages(
    *,
    template: dict[str, Any],
    idea: dict[str, Any],
    code: str | None,
    parameters: str,
    baseline: str,
    notes: str,
    run: int,
    max_runs: int,
    done: bool,
    failure: Attempt | None,
) -> list[dict[str, Any]]:
    """The coding step's messages; `template` is prompt.json, `code` None when only parameters are offered,
    `parameters` empty when the template declares none, `failure` the run's last failed attempt."""
    sections = ""
    if code is not None:
        sections += CODE_SECTION.format(format_guide=FORMAT_GUIDE, code=code)
    if parameters:
        sections += PARAMS_SECTION.format(parameters=parameters)
    if code is None:
        ask = ASK_PARAMS.format(run=run)
    else:
        changes = "the SEARCH/REPLACE edits, the parameter settings, or both" if parameters else "the edits"
        ask = ASK_EDITS.format(run=run, changes=changes)
    user = RUN_TASK.format(
        task=template.get("task_description", ""),
        idea=json.dumps(idea, indent=2),
        sections=sections,
        baseline=baseline,
        notes=notes or "(none yet)",
        remaining=max_runs - run + 1,
        max_runs=max_runs,
        run=run,
        ask=ask + (ASK_DONE if done else ""),
    )
    if failure is not None:
        user += RETRY.format(attempt=failure.attempt, run=run, failure=_failure_text(failure))
    system = "\n\n".join(filter(None, [template.get("system", ""), SYSTEM]))
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _failure_text(attempt: Attempt) -> str:
    if attempt.status == "timeout":
        return f"The run was stopped at the time limit: {attempt.message}. Make it finish sooner."
    if attempt.status == "oom":
        return f"The run ran out of memory: {attempt.message}. Use less memory."
    if attempt.status in ("edit_error", "bad_params", "bad_results"):
        return attempt.message
    if attempt.status == "bad_reply":
        return (
            f"Your reply could not be used: {attempt.message}\nIt began:\n```\n{attempt.reply[:2000]}\n```\n"
            "Reply with one JSON object of the requested form."
        )
    return f"{attempt.message}\nThe end of stderr:\n```\n{attempt.stderr_tail[-4000:]}\n```"
