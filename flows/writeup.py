"""The writeup of one finished idea: citations, each section, then build rounds until the paper is right."""

from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from aisci.settings import get_settings
from aisci.writeup import WriteupOptions, WriteupReport
from aisci.writeup.writer import run_writeup
from tasks.preflight import preflight_checks
from tasks.writeup import TaskWriteup, prepare_writeup


@flow(name="writeup", log_prints=True)
def writeup_flow(
    idea_dir: Path,
    template_dir: Path | None = None,
    options: WriteupOptions | None = None,
    offline: bool = False,
) -> WriteupReport:
    """paper.pdf and build_report.json in `idea_dir`; `offline` cites only papers from novelty.json."""
    preflight_checks(get_settings(), "write")
    return write_up(idea_dir, template_dir, options or WriteupOptions(), offline)


def write_up(
    idea_dir: Path, template_dir: Path | None, options: WriteupOptions, offline: bool, feedback: str = ""
) -> WriteupReport:
    """The writeup's tasks in the calling flow run: the idea flow's writeup and improve stages, or the flow
    above. `feedback` (a review) makes it a revision."""
    context = prepare_writeup(idea_dir, template_dir, options).model_copy(update={"feedback": feedback})
    report = run_writeup(TaskWriteup(context, get_settings(), options, offline))
    verdict = "ready" if report.ok else "**not ready**: " + "; ".join(report.problems)
    create_markdown_artifact(
        key="writeup",
        markdown=f"**{context.title}**\n\nPDF: `{report.pdf}` ({report.text_pages} of {report.page_limit} "
        f"main-text pages, {report.pages} in all, {len(report.figures)} figures). Paper {verdict}. "
        f"Citations: {report.citation_mode}" + (", **smoke-test results**" if report.smoke_results else ""),
        description="The paper of this idea.",
    )
    create_table_artifact(
        key="writeup-remaining",
        table=[{"remaining": line} for line in report.remaining] or [{"remaining": "(nothing)"}],
        description="Problems and warnings left in the paper.",
    )
    return report
