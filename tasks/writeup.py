"""Writeup tasks: the writeup's steps (citations, one task per section, one per build round, the report) as
Prefect tasks, and `TaskWriteup`, which runs aisci's one writeup loop through them.

Model and search calls retry on transient faults only (tasks.policy). LaTeX errors never fail a task: they
are handed back to the model inside the build round.
"""

from pathlib import Path

from prefect import task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import INPUTS, NO_CACHE, TASK_SOURCE

from aisci.settings import Settings
from aisci.writeup import Writeup, WriteupOptions, WriteupReport
from aisci.writeup.citations import Bibliography
from aisci.writeup.paper import Layout, PaperContext, Section, load_context
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
    return Writeup(context, settings, options, offline).citations()


@task(cache_policy=INPUTS + TASK_SOURCE, **TRANSIENT_RETRIES)
def pick_metrics_task(context: PaperContext, settings: Settings, options: WriteupOptions) -> list[str]:
    return Writeup(context, settings, options).pick_metrics()


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
    layout: Layout,
) -> tuple[BuildRound, dict[str, Section]]:
    """Compile and check; when problems remain and rounds are left, the sections come back fixed."""
    return Writeup(context, settings, options).build_round(number, sections, bib, layout)


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


class TaskWriteup(Writeup):
    """The writeup loop with each step a task of the calling flow run, and its progress as an artifact."""

    _progress_id = None

    def progress(self, done: int, total: int, step: str) -> None:
        description = f"Writeup of {self.context.idea_dir.name}: {step}"
        if self._progress_id is None:
            self._progress_id = create_progress_artifact(100.0 * done / total, description=description)
        else:
            update_progress_artifact(self._progress_id, 100.0 * done / total, description=description)

    def pick_metrics(self) -> list[str]:
        return pick_metrics_task(self.context, self.settings, self.options)

    def citations(self) -> Bibliography:
        return gather_citations_task(self.context, self.settings, self.options, self.offline)

    def section(self, name: str, bib: Bibliography, done: dict[str, Section]) -> Section:
        return write_section_task(self.context, self.settings, self.options, name, bib, done)

    def build_round(
        self, number: int, sections: dict[str, Section], bib: Bibliography, layout: Layout
    ) -> tuple[BuildRound, dict[str, Section]]:
        return build_round_task(self.context, self.settings, self.options, number, sections, bib, layout)

    def finish(
        self, sections: dict[str, Section], bib: Bibliography, rounds: list[BuildRound], started: float
    ) -> WriteupReport:
        return finish_writeup_task(self.context, self.settings, self.options, sections, bib, rounds, started)
