"""Writeup tasks: citations, one task per section, one per build round.

Model and search calls retry on transient faults only (tasks.policy). LaTeX errors never fail a task: they
are handed back to the model inside the build round.
"""

from pathlib import Path

from prefect import task
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE

from aisci.settings import Settings
from aisci.writeup import Writeup, WriteupOptions, WriteupReport
from aisci.writeup.citations import Bibliography, s2_search
from aisci.writeup.paper import PaperContext, Section, load_context
from aisci.writeup.writer import BuildRound
from tasks.policy import TRANSIENT_RETRIES


@task(retries=0, cache_policy=NO_CACHE)
def prepare_writeup(idea_dir: Path, template_dir: Path | None, options: WriteupOptions) -> PaperContext:
    """Read the idea folder once; everything after works from this snapshot."""
    return load_context(idea_dir, template_dir, options.page_limit)


@task(cache_policy=INPUTS + TASK_SOURCE, **TRANSIENT_RETRIES)
def gather_citations_task(
    context: PaperContext, settings: Settings, options: WriteupOptions, offline: bool
) -> Bibliography:
    return Writeup(context, settings, options).citations(None if offline else s2_search(settings))


@task(cache_policy=INPUTS + TASK_SOURCE, task_run_name="section-{name}", **TRANSIENT_RETRIES)
def write_section_task(
    context: PaperContext,
    settings: Settings,
    options: WriteupOptions,
    name: str,
    bib: Bibliography,
    done: dict[str, Section],
) -> Section:
    return Writeup(context, settings, options).section(name, bib, done)


@task(cache_policy=NO_CACHE, task_run_name="build-round-{number}", **TRANSIENT_RETRIES)
def build_round_task(
    context: PaperContext,
    settings: Settings,
    options: WriteupOptions,
    number: int,
    sections: dict[str, Section],
    bib: Bibliography,
    scale_tables: bool,
) -> tuple[BuildRound, dict[str, Section], bool]:
    """Compile and check; when problems remain and rounds are left, the sections come back fixed."""
    return Writeup(context, settings, options).build_round(number, sections, bib, scale_tables)


@task(retries=0, cache_policy=NO_CACHE)
def finish_writeup_task(
    context: PaperContext,
    settings: Settings,
    options: WriteupOptions,
    sections: dict[str, Section],
    bib: Bibliography,
    rounds: list[BuildRound],
    started: float,
) -> WriteupReport:
    return Writeup(context, settings, options).finish(sections, bib, rounds, started)
