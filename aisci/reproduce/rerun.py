"""Re-running an idea's completed runs from their code snapshots, and comparing what comes out.

Run i is re-run in `reproductions/<n>/run_i/`, a copy of `run_i/code/`, as it ran: `python experiment.py
--out_dir=run_i` in a fresh sandbox with the configured image, the original's smoke setting and the same code
(hence the same seeds and parameters); its output lands in `reproductions/<n>/run_i/run_i/`. The originals
are only read. The report goes to `reproductions/<n>/reproduce.json` and, as the idea's latest, to
`reproduce.json`; the re-run's environment to `reproductions/<n>/manifest.json`.
"""

import json
import shutil
from pathlib import Path

from aisci.errors import ConfigError, FinalInfoError
from aisci.experiment import folder, snapshot
from aisci.experiment.config import is_smoke
from aisci.files import write_atomic
from aisci.manifest import MANIFEST, build, run_duration, run_entry
from aisci.reproduce.compare import compare, unchecked
from aisci.reproduce.report import REPORT, ReproductionReport, RunReproduction
from aisci.sandbox import read_final_info, run_sandboxed
from aisci.settings import Settings
from aisci.templates import SMOKE_ENV, TemplateSpec, load_spec

REPRODUCTIONS = "reproductions"


def reproduce(
    idea_dir: Path, settings: Settings, runs: list[int] | None = None, gpus: list[int] | None = None
) -> ReproductionReport:
    """Re-run `runs` (default: every completed run) and write the report; returns it."""
    idea_dir = Path(idea_dir).resolve()
    done = folder.completed_runs(idea_dir) if idea_dir.is_dir() else []
    if not done:
        raise ConfigError(f"{idea_dir} has no completed run", hint="run the experiments first")
    missing = sorted(set(runs or []) - set(done))
    if missing:
        raise ConfigError(
            f"{idea_dir.name}: run {', '.join(map(str, missing))} is not a completed run",
            hint=f"completed runs: {', '.join(map(str, done))}",
        )
    spec = load_spec(idea_dir)
    target = _new_folder(idea_dir / REPRODUCTIONS)
    results = [_rerun(idea_dir, run, target, spec, settings, gpus) for run in (runs or done)]
    manifest = build(
        settings,
        [run_entry(idea_dir, r.run, r.rerun_s) for r in results if r.rerun_s is not None],
        "reproduce",
        gpus,
    )
    write_atomic(target / MANIFEST, manifest.model_dump_json(indent=2))
    checks = [c for r in results for c in r.checks]
    timed = [r for r in results if r.original_s is not None and r.rerun_s is not None]
    report = ReproductionReport(
        idea_dir=str(idea_dir),
        reproduction=int(target.name),
        backend=manifest.backend,
        image=manifest.image,
        image_id=manifest.image_id,
        original_image_id=_original_image_id(idea_dir),
        runs=results,
        agreed=sum(c.agree for c in checks if not c.timing),
        compared=sum(not c.timing for c in checks),
        timing_agreed=sum(c.agree for c in checks if c.timing),
        timing_compared=sum(c.timing for c in checks),
        original_s=round(sum(r.original_s or 0 for r in timed), 2),
        rerun_s=round(sum(r.rerun_s or 0 for r in timed), 2),
    )
    text = report.model_dump_json(indent=2)
    write_atomic(target / REPORT, text)
    write_atomic(idea_dir / REPORT, text)
    return report


def _rerun(
    idea_dir: Path, run: int, target: Path, spec: TemplateSpec, settings: Settings, gpus: list[int] | None
) -> RunReproduction:
    original = folder.results(idea_dir, run)
    original_s = run_duration(idea_dir, run)
    code = snapshot.code_dir(idea_dir, run)
    if not code.is_dir() or code.is_symlink():
        note = f"run_{run}/{snapshot.CODE}/ is missing: nothing to re-run"
        return RunReproduction(
            run=run,
            status="unreproducible",
            message=note,
            original_s=original_s,
            checks=unchecked(original, spec, "no code snapshot"),
        )
    work = target / f"run_{run}"
    shutil.copytree(code, work, symlinks=True)
    base = {"run": run, "folder": str(work.relative_to(idea_dir)), "original_s": original_s}
    result = run_sandboxed(
        work,
        ["python", "experiment.py", f"--out_dir=run_{run}"],
        work / f"run_{run}",
        timeout_s=settings.run_timeout_s,
        gpus=gpus,
        env={SMOKE_ENV: "1"} if is_smoke(idea_dir, run) else {},
    )
    base["rerun_s"] = round(result.duration_s, 2)
    rerun, problem = None, f"{result.status}: {result.message or result.stderr_tail[-500:]}"
    if result.status == "ok":
        try:
            rerun = read_final_info(work / f"run_{run}")
        except FinalInfoError as exc:
            problem = exc.message
    if rerun is None:
        failed = unchecked(original, spec, "the re-run failed")
        return RunReproduction(**base, status="failed", message=problem.strip(), checks=failed)
    checks = compare(original, rerun, spec)
    agree = all(c.agree for c in checks if not c.timing)
    return RunReproduction(**base, status="reproduced" if agree else "not_reproduced", checks=checks)


def _new_folder(parent: Path) -> Path:
    """reproductions/<n>/, n one more than the highest there: every reproduction keeps its own folder."""
    parent.mkdir(parents=True, exist_ok=True)
    taken = [int(p.name) for p in parent.iterdir() if p.name.isdigit()]
    target = parent / str(max(taken, default=0) + 1)
    target.mkdir()
    return target


def _original_image_id(idea_dir: Path) -> str | None:
    try:
        return json.loads((idea_dir / MANIFEST).read_text()).get("image_id")
    except (OSError, ValueError, AttributeError):
        return None
