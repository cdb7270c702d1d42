"""The paper as a reader sees it, written from an idea folder the experiment stage really produced: figures
embedded, tables that fit and hold the measured numbers, the page limit, offline citations, the context
window, and a build report that tells the truth."""

import json
import re
import subprocess
from pathlib import Path

import pytest
from writeup_fixture import RUN_LABEL, SECTION_TEXT, finished_idea, script, search

from aisci.numbers import fmt_mean
from aisci.settings import get_settings
from aisci.writeup import WriteupOptions, write_paper
from aisci.writeup.build import log_problems


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def embedded_images(pdf: Path) -> int:
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True)
    return sum(1 for line in listing.stdout.splitlines()[2:] if line.split()[2] == "image")


def widest_overflow_pt(idea: Path) -> float:
    log = (idea / "latex" / "paper.log").read_text(errors="replace")
    return max(
        (float(v) for v in re.findall(r"Overfull \\hbox \((\d+(?:\.\d+)?)pt too wide", log)), default=0.0
    )


@pytest.fixture
def idea(prefect_harness, scripted, isolated, aisci_env):
    return finished_idea(isolated, scripted, aisci_env)


def test_the_paper_embeds_every_figure_and_its_table_holds_the_measured_numbers(idea, scripted):
    scripted.add(*script())
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=1), search=search)
    assert report.ok, report.problems
    assert report.figures == ["figures/accuracy.png", "figures/loss.png"]
    assert embedded_images(report.pdf) == 2
    assert widest_overflow_pt(idea) == 0.0
    assert report.text_pages <= report.page_limit == 8
    tex = (idea / "latex" / "paper.tex").read_text()
    main = tex[tex.index("\\label{sec:results}") : tex.index("\\label{sec:conclusion}")]
    info = json.loads((idea / "run_1" / "final_info.json").read_text())
    for group in ("alpha", "beta"):
        for metric in ("loss", "accuracy"):
            mean, err = fmt_mean(info[group]["means"][metric], info[group]["stderrs"][metric])
            assert f"{mean}}} \\pm {err}$" in main or f"${mean} \\pm {err}$" in main
    assert "train_time" not in main  # a timing metric is not a main result; the appendix has it
    assert "\\emph{not reached}" in main  # beta never reaches the target accuracy: no number for it
    assert "over 3 seeds" in main
    text = " ".join(pdf_text(report.pdf).split())
    assert f"Run 1: {RUN_LABEL}" in text and "Efficient Training" in text
    assert "Test loss per group" in text  # the figure's caption is its description
    assert "steps to 98.8%" in text  # the template's column label
    assert "References" in text and "Ho et al." in text


def test_a_paper_that_cites_nothing_has_no_empty_references_heading(idea, scripted):
    uncited = {title: re.sub(r"\s*\\cite[tp]\{[^}]*\}", "", text) for title, text in SECTION_TEXT.items()}
    scripted.add(
        *({"contains": f"Write the {t} section", "reply": text} for t, text in uncited.items()), *script()
    )
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=1), search=search)
    assert report.ok, report.problems
    text = " ".join(pdf_text(report.pdf).split())
    assert "Diffusion models generate data" in text and "References" not in text


def test_the_writer_sees_every_figure_setup_and_compact_facts(idea, scripted):
    scripted.add(*script())
    write_paper(idea, get_settings(), WriteupOptions(fix_rounds=0), search=search)
    prompt = next(
        m["content"]
        for r in scripted.requests
        for m in r["body"]["messages"]
        if "Write the Experimental Setup section" in str(m["content"])
    )
    assert "Figure~\\ref{fig:loss} (figures/loss.png)" in prompt
    assert "Figure files: (none)" not in prompt
    assert "Baseline: lr=0.1; seeds=0, 1, 2; n_train=512" in prompt
    assert "Run 1: lr=0.03" in prompt
    assert "alpha / loss [test loss] (lower is better): Baseline" in prompt
    assert "not reached" in prompt


def test_a_hundred_metrics_per_group_go_to_the_appendix_and_every_prompt_fits(
    prefect_harness, scripted, isolated, aisci_env
):
    idea = finished_idea(isolated, scripted, aisci_env, extra_metrics=100)
    before = len(scripted.requests)
    scripted.add(*script())
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=1), search=search)
    assert report.ok, report.problems
    assert widest_overflow_pt(idea) == 0.0
    tex = (idea / "latex" / "paper.tex").read_text()
    appendix = tex[tex.index("\\appendix") :]
    assert (
        "probe\\_\\allowbreak{}99\\_\\allowbreak{}divergence" in appendix
        and "probe" not in tex[: tex.index("\\appendix")]
    )
    assert "\\resizebox" not in tex
    from aisci.llm import Gateway

    gateway = Gateway(get_settings())
    window = gateway.context_window("writing")
    for request in scripted.requests[before:]:
        text = "\n".join(str(m["content"]) for m in request["body"]["messages"])
        sent = gateway.count_tokens("writing", text) + (request["body"].get("max_tokens") or 0)
        assert sent <= window, f"{sent} tokens against a window of {window}"


def test_a_paper_over_the_page_limit_is_not_ok_and_each_long_section_is_told_how_much_to_cut(
    prefect_harness, scripted, isolated, aisci_env
):
    idea = finished_idea(isolated, scripted, aisci_env, page_limit=1)
    long = " ".join(["The learning rate matters for this model in ways we describe at length."] * 60)
    scripted.add(*script({"Method": long, "Background": long}))
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=2), search=search)
    assert not report.ok
    assert any(p.startswith("[pages]") and "the template allows 1" in p for p in report.problems)
    asked = [str(m["content"]) for r in scripted.requests for m in r["body"]["messages"]]
    assert any("shorten this section by about" in a and "limit of 1" in a for a in asked)
    assert report.rounds[0].next_layout is None  # two figures only: none to move, the text must shrink


def test_offline_no_query_round_is_spent_and_the_paper_says_its_bibliography_is_unchecked(idea, scripted):
    scripted.add(*script())
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=1), offline=True)
    assert report.citation_mode == "offline" and report.citation_queries == []
    asked = [str(m["content"]) for r in scripted.requests for m in r["body"]["messages"]]
    assert not any("Name one search query" in a for a in asked)
    assert "nichol2021improved" in report.citations  # a paper the novelty check saw
    assert "bibliography was not checked" in " ".join(pdf_text(report.pdf).split())
    assert any(w.startswith("[citations]") for w in report.warnings)


def test_an_unresolved_cite_key_goes_back_once_then_is_dropped_and_reported(idea, scripted):
    scripted.add(*script())
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=2), search=search)
    asked = [str(m["content"]) for r in scripted.requests for m in r["body"]["messages"]]
    returned = [a for a in asked if "fake2099missing have no bibliography entry" in a]
    assert len(returned) == 1 and "ho2020denoising" in returned[0]
    assert report.unresolved_citations == ["fake2099missing"]
    assert any("fake2099missing" in w for w in report.warnings)


def test_claims_are_checked_again_after_the_last_build_round(idea, scripted):
    wrong = "Unlike \\citet{nichol2021improved}, Run 1 has a higher loss than the baseline on alpha."
    scripted.add({"contains": "The Related Work section below has problems", "reply": wrong}, *script())
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=1), search=search)
    assert any("higher" in c.sentence for c in report.claims_remaining)
    assert any(w.startswith("[claim]") for w in report.warnings)


def test_an_overfull_line_names_the_words_at_the_margin_not_the_paragraph():
    log = (
        "Overfull \\hbox (12.4pt too wide) in paragraph at lines 40--44\n"
        "[]\\T1/cmr/m/n/10 We es-ti-mate the di-ver-gence with the $\\OML/cmm/m/it/10 k$\\T1/cmr/m/n/10 "
        "-nearest-neighbour-\n []\n\n"
    )
    (problem,) = log_problems(log, "paper.tex", 1.0)
    assert problem.line == 40 and problem.text.endswith("$k$-nearest-neighbour-")
    assert "We es-ti-mate" not in problem.text or len(problem.text) <= 61


def test_a_prompt_the_provider_finds_too_long_is_shortened_and_sent_again(idea, scripted):
    too_long = {
        "contains": "Write the Method section",
        "status": 400,
        "code": "context_length_exceeded",
        "message": "This model's maximum context length is 1000 tokens. However, your messages resulted in "
        "4000 tokens. Please reduce the length of the messages.",
        "times": 1,
    }
    scripted.add(too_long, *script())
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=0), search=search)
    assert report.pdf is not None
    asked = [
        "\n".join(str(m["content"]) for m in r["body"]["messages"])
        for r in scripted.requests
        if "Write the Method section" in str(r["body"]["messages"][-1]["content"])
    ]
    assert len(asked) == 2 and len(asked[1]) < len(asked[0])
