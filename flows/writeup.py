"""The writeup of one finished idea: citations, each section, then build rounds until the paper is clean."""

import time
from pathlib import Path

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from aisci.settings import get_settings
from aisci.writeup import WriteupOptions, WriteupReport
from aisci.writeup.paper import SECTIONS, Section
from tasks.writeup import (
    build_round_task,
    finish_writeup_task,
    gather_citations_task,
    prepare_writeup,
    write_section_task,
)


@flow(name="writeup", log_prints=True)
def writeup_flow(
    idea_dir: Path,
    template_dir: Path | None = None,
    options: WriteupOptions | None = None,
    offline: bool = False,
) -> WriteupReport:
    """paper.pdf and build_report.json in `idea_dir`; `offline` cites only papers from novelty.json."""
    return write_up(idea_dir, template_dir, options or WriteupOptions(), offline)


def write_up(
    idea_dir: Path, template_dir: Path | None, options: WriteupOptions, offline: bool
) -> WriteupReport:
    """The writeup's tasks in the calling flow run: the idea flow's writeup stage, or the flow above."""
    started = time.time()
    settings = get_settings()
    context = prepare_writeup(idea_dir, template_dir, options)
    bib = gather_citations_task(context, settings, options, offline)
    sections: dict[str, Section] = {}
    for spec in SECTIONS:
        sections[spec.name] = write_section_task(context, settings, options, spec.name, bib, dict(sections))
    rounds = []
    scale = False
    for number in range(1, options.fix_rounds + 2):
        record, sections, scale_next = build_round_task(
            context, settings, options, number, sections, bib, scale
        )
        rounds.append(record)
        print(
            f"build round {number}: {len(record.result.problems)} problem(s), fixed {record.fixed_sections}"
        )
        if not record.fixed_sections and scale_next == scale:
            break
        scale = scale_next
    report = finish_writeup_task(context, settings, options, sections, bib, rounds, started)
    create_markdown_artifact(
        key="writeup",
        markdown=f"**{context.title}**\n\nPDF: `{report.pdf}` ({report.pages} pages), build "
        f"{'clean' if report.ok else 'failed'}, citations: {report.citation_mode}"
        + (", **smoke-test results**" if report.smoke_results else ""),
        description="The paper of this idea.",
    )
    create_table_artifact(
        key="writeup-remaining",
        table=[{"remaining": line} for line in report.remaining] or [{"remaining": "(nothing)"}],
        description="Warnings and unresolved claims left in the paper.",
    )
    return report


if __name__ == "__main__":
    import sys

    writeup_flow(Path(sys.argv[1]))
