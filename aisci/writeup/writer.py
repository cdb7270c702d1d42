"""The writeup as steps (citations, each section, each build round, the report) and `write_paper`, which runs
them in order. The Prefect flow runs the same steps as tasks."""

import time
from pathlib import Path

from pydantic import BaseModel

from aisci.files import write_atomic, write_json
from aisci.llm import Gateway
from aisci.settings import Settings
from aisci.writeup.build import BuildResult, Problem, build
from aisci.writeup.citations import Bibliography, Search, gather_citations, novelty_papers
from aisci.writeup.claims import Claim
from aisci.writeup.paper import SECTIONS, PaperContext, Section, assemble, load_context, write_sources
from aisci.writeup.sections import fix_section, write_section

FIXABLE = ("latex_error", "chktex", "missing_figure", "duplicate", "overfull")


class WriteupOptions(BaseModel):
    citation_rounds: int = 3
    fix_rounds: int = 3  # compile-fix rounds after the first build
    build_timeout_s: float = 180.0
    overfull_tolerance_pt: float = 10.0  # boxes wider than this count as running off the page
    page_limit: int | None = 8  # main-text pages, references excluded


class BuildRound(BaseModel):
    number: int
    result: BuildResult
    unresolved_citations: list[str] = []
    fixed_sections: list[str] = []
    scaled_tables: bool = False


class WriteupReport(BaseModel):
    """build_report.json: what came out and everything still wrong with it."""

    idea_dir: Path
    pdf: Path | None
    ok: bool
    smoke_results: bool
    runs: list[str]
    skipped_runs: dict[str, str]
    citation_mode: str
    citation_note: str
    citation_queries: list[str]
    citations: list[str]
    unresolved_citations: list[str]
    claims_checked: int
    claims_remaining: list[Claim]
    tables_removed_from_prose: int
    rounds: list[BuildRound]
    remaining: list[str]
    pages: int | None
    text_pages: int | None
    seconds: float


class Writeup:
    """One idea's writeup. Holds the gateway, so each Prefect task builds its own from the settings."""

    def __init__(
        self, context: PaperContext, settings: Settings, options: WriteupOptions | None = None
    ) -> None:
        self.context = context
        self.options = options or WriteupOptions()
        self.gateway = Gateway(settings, run_dir=context.idea_dir)

    def citations(self, search: Search | None) -> Bibliography:
        """`search` None means offline: only the papers novelty.json recorded can be cited."""
        context = self.context
        summary = f"Title: {context.title}\nIdea: {context.idea}\nNotes: {context.notes[:2000]}"
        start = Bibliography(template_bibtex=context.template_bibtex)
        return gather_citations(
            self.gateway,
            summary,
            start,
            search,
            novelty_papers(context.idea_dir),
            self.options.citation_rounds,
        )

    def section(self, name: str, bib: Bibliography, done: dict[str, Section]) -> Section:
        return write_section(self.gateway, self.context, name, bib, done)

    def build_round(
        self, number: int, sections: dict[str, Section], bib: Bibliography, scale_tables: bool
    ) -> tuple[BuildRound, dict[str, Section], bool]:
        """Build once; unless it is clean or the last round, hand each section its problems back.

        Returns the round, the sections for the next round and whether tables must be scaled to fit."""
        source, spans, unresolved = assemble(self.context, sections, bib, scale_tables)
        tex = write_sources(self.context, source, bib)
        opts = self.options
        result = build(tex, opts.build_timeout_s, opts.overfull_tolerance_pt, opts.page_limit)
        record = BuildRound(
            number=number, result=result, unresolved_citations=unresolved, scaled_tables=scale_tables
        )
        if number > opts.fix_rounds:
            return record, sections, scale_tables
        by_part: dict[str, list[Problem]] = {}
        for problem in result.of(*FIXABLE):
            part = _part_of(problem, spans)
            if part:
                by_part.setdefault(part, []).append(problem)
        if "results_tables" in by_part and not scale_tables:
            scale_tables = True  # our own table ran off the page: shrink it, no model needed
        fixed = dict(sections)
        for name, problems in by_part.items():
            if name in sections:
                fixed[name] = fix_section(self.gateway, sections[name], problems, spans[name][0])
                record.fixed_sections.append(name)
        return record, fixed, scale_tables

    def finish(
        self, sections: dict[str, Section], bib: Bibliography, rounds: list[BuildRound], started: float
    ) -> WriteupReport:
        """Copy the PDF to the idea folder and write build_report.json."""
        context = self.context
        last = rounds[-1]
        pdf = None
        if last.result.pdf:
            pdf = context.idea_dir / "paper.pdf"
            write_atomic(pdf, last.result.pdf.read_bytes())
        remaining = [str(p) for p in last.result.problems]
        remaining += [
            f"[unresolved_citation] \\cite key '{k}' has no entry and was removed"
            for k in last.unresolved_citations
        ]
        claims = [c for s in sections.values() for c in s.claims_remaining]
        remaining += [f'[claim] {c.problem}: "{c.sentence}"' for c in claims]
        if context.results.smoke:
            remaining.append("[smoke] the results are smoke tests (short CPU checks), not full experiments")
        report = WriteupReport(
            idea_dir=context.idea_dir,
            pdf=pdf,
            ok=last.result.ok,
            smoke_results=context.results.smoke,
            runs=[r.name for r in context.results.runs],
            skipped_runs=context.results.skipped,
            citation_mode=bib.mode,
            citation_note=bib.note,
            citation_queries=bib.queries,
            citations=bib.cite_keys,
            unresolved_citations=sorted({k for r in rounds for k in r.unresolved_citations}),
            claims_checked=sum(s.claims_checked for s in sections.values()),
            claims_remaining=claims,
            tables_removed_from_prose=sum(s.tables_removed for s in sections.values()),
            rounds=rounds,
            remaining=remaining,
            pages=last.result.pages,
            text_pages=last.result.text_pages,
            seconds=round(time.time() - started, 2),
        )
        write_json(context.idea_dir / "build_report.json", report.model_dump(mode="json"))
        return report


def _part_of(problem: Problem, spans: dict[str, tuple[int, int]]) -> str | None:
    if problem.line is None:
        return None
    for name, (first, last) in spans.items():
        if first <= problem.line <= last or (problem.end_line and first <= problem.end_line <= last):
            return name
    return None


def write_paper(
    idea_dir: Path,
    settings: Settings,
    options: WriteupOptions | None = None,
    search: Search | None = None,
    template_dir: Path | None = None,
    feedback: str = "",
) -> WriteupReport:
    """The whole writeup of one finished idea: paper.pdf and build_report.json in `idea_dir`.

    `feedback` (a review) makes it a revision that answers the review."""
    started = time.time()
    options = options or WriteupOptions()
    context = load_context(idea_dir, template_dir, options.page_limit).model_copy(
        update={"feedback": feedback}
    )
    writeup = Writeup(context, settings, options)
    bib = writeup.citations(search)
    sections: dict[str, Section] = {}
    for spec in SECTIONS:
        sections[spec.name] = writeup.section(spec.name, bib, sections)
    rounds: list[BuildRound] = []
    scale = False
    for number in range(1, options.fix_rounds + 2):
        record, sections, scale_next = writeup.build_round(number, sections, bib, scale)
        rounds.append(record)
        if not record.fixed_sections and scale_next == scale:
            break
        scale = scale_next
    return writeup.finish(sections, bib, rounds, started)
