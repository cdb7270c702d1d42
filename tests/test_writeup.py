"""The writeup's parts on an idea folder the experiment stage really produced: citations online and offline,
LaTeX errors and false claims handed back to the (scripted) model, our own tables narrowed when they run off
the page, and the results read back as the tables use them."""

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from writeup_fixture import DDPM, IMPROVED, SCHEDULES, SECTION_TEXT, finished_idea, script, search

from aisci.errors import ConfigError
from aisci.llm import Gateway
from aisci.numbers import with_stderr
from aisci.settings import get_settings
from aisci.writeup import Writeup, WriteupOptions, write_paper
from aisci.writeup.citations import (
    Bibliography,
    bibtex_entry,
    citation_key,
    drop_unresolved,
    gather_citations,
)
from aisci.writeup.paper import Layout, Section, load_context
from aisci.writeup.results import TableLayout, load_results
from aisci.writeup.sections import SMALL_SECTION_TOKENS, as_prose


def pdf_text(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(unicodedata.normalize("NFKC", text).split())


@pytest.fixture
def idea(prefect_harness, scripted, isolated, aisci_env):
    return finished_idea(isolated, scripted, aisci_env)


def test_bibtex_keys_are_stable_and_fields_escaped():
    assert citation_key(DDPM) == "ho2020denoising"
    bib = Bibliography(template_bibtex="@misc{ho2020denoising,\n title={Taken}\n}\n")
    assert bib.add(DDPM).key == "ho2020denoisingb"  # the template's key is kept, ours moves aside
    assert bib.add(DDPM).key == "ho2020denoisingb"
    entry = bibtex_entry(bib.add(SCHEDULES))
    assert "Diffusion Models \\& 50\\% Fewer Steps" in entry and "Jurgen Muller" in entry
    assert entry.startswith("@article{chen2023importance,")


def test_a_dropped_cite_takes_its_space_with_it():
    text, dropped = drop_unresolved("Models \\citep{a} work~\\citep{b,c}, as shown \\citep{zz}.", {"a", "c"})
    assert text == "Models \\citep{a} work~\\citep{c}, as shown." and dropped == ["b", "zz"]


def test_offline_citations_spend_no_round_and_a_failing_search_ends_the_rounds(idea, scripted):
    gateway = Gateway(get_settings())
    before = len(scripted.requests)
    bib = gather_citations(gateway, "learning rates", Bibliography(), None, [IMPROVED, DDPM], rounds=2)
    assert bib.mode == "offline" and "novelty.json" in bib.note and len(scripted.requests) == before
    assert sorted(r.key for r in bib.references) == ["ho2020denoising", "nichol2021improved"]

    def unreachable(query: str, limit: int):
        raise ConnectionError("no route to api.semanticscholar.org")

    scripted.add(*script())
    bib = Writeup(load_context(idea), get_settings(), search=unreachable).citations()
    assert bib.mode == "offline" and "ConnectionError" in bib.note and len(bib.queries) == 1
    assert {r.paper.paper_id for r in bib.references} == {"ddpm", "iddpm"}


def test_whole_writeup_repairs_latex_and_claims(idea, scripted):
    fixed_method = "We lower the learning rate, as \\citet{nichol2021improved} tune theirs."
    fixed_results = (
        "Table~\\ref{tab:results-1} lists the results. Run 1 has a lower loss than the baseline on alpha, "
        "as Figure~\\ref{fig:loss} shows; Figure~\\ref{fig:accuracy} shows the accuracy."
    )
    stubborn = "Overall, Run 1 reaches a loss of 0.2222, a clear gain."
    scripted.add(
        {"contains": "The Method section below has problems", "reply": fixed_method},
        {"contains": stubborn, "reply": stubborn, "times": 1},  # the model repeats it when told it is wrong
        {"contains": "Run 1 raises the loss", "reply": fixed_results, "times": 1},
        *script(
            {
                "Method": "We lower the rate with \\lowerrate{} as \\citet{nichol2021improved} do.",
                "Results": "Run 1 raises the loss on alpha (Table~\\ref{tab:results-1}, "
                "Figure~\\ref{fig:loss}, Figure~\\ref{fig:accuracy}).",
                "Conclusion": stubborn,
            }
        ),
    )
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=2), search=search)

    first, second = report.rounds[0], report.rounds[1]
    assert any(
        p.kind == "latex_error" and "Undefined control sequence" in p.message for p in first.result.problems
    )
    assert "method" in first.fixed_sections and second.result.ok and report.ok
    assert any("These statements disagree" in json.dumps(r["body"]) for r in scripted.requests)
    remaining = [c.sentence for c in report.claims_remaining]
    assert remaining == [stubborn]
    assert report.unresolved_citations == ["fake2099missing"]
    assert report.citation_mode == "semantic_scholar" and "chen2023importance" in report.citations

    text = pdf_text(idea / "paper.pdf")
    for title in ("Abstract", "Introduction", "Related Work", "Method", "Experimental Setup", "Results"):
        assert title in text
    info = json.loads((idea / "run_1" / "final_info.json").read_text())
    for metric in ("loss", "accuracy"):
        assert with_stderr(info["alpha"]["means"][metric], info["alpha"]["stderrs"][metric]) in text
    assert "[Ho et al., 2020]" in text and "Nichol and Dhariwal [2021]" in text and "Sohl-Dickstein" in text
    assert "[?]" not in text and "??" not in text
    assert "raises" not in text and "lower loss than the baseline" in text
    saved = json.loads((idea / "build_report.json").read_text())
    assert saved["ok"] is True and any("0.2222" in line for line in saved["warnings"])


# As the embedded model wrote them: digits, one token each, in runs that have to break somewhere.
EMBEDDED_ABSTRACT = (
    "[SIDENY: 2020-05-08T08:32:03.3724649243468468-0.0000021112129516540276267-0.0000021112129516546640802]"
)
EMBEDDED_BACKGROUND = (
    "SIDENY: 2020-05-08T0\\hspace{0pt plus 2em}8:32:03.\\hspace{0pt plus 2em}64924368\\hspace{0pt plus 2em}"
    "9228\\textbackslash{}hspace\\{\\hspace{0pt plus 2em}0\n\n--- Table\n\nSIDENY: 2020-05-08T0\\hspace{0pt "
    "plus 2em}8:32:03.4788\\hspace{0pt plus 2em}483\\hspace{0pt plus 2em}0pt plus 2em\\hspace{0pt plus 2em}"
    "9228\\hspace{0pt plus 2em}0."
)


def test_a_small_model_writes_each_section_once_briefly_and_is_asked_no_fixes(idea, scripted, aisci_env):
    aisci_env(AISCI_LLM__WEAK_MODELS='["openai/scripted"]')
    stubborn = "Overall, Run 1 reaches a loss of 0.2222, a clear gain."
    stray = "## Method\nOur runs_x & $y$ in % use \\textbf{z}, a café as \\citet{nichol2021improved} do. An"
    drafts = {**SECTION_TEXT, "Abstract": EMBEDDED_ABSTRACT, "Background": EMBEDDED_BACKGROUND}
    drafts |= {"Method": stray, "Conclusion": stubborn}
    scripted.add(
        *({"contains": f"Write the {title} section", "reply": text} for title, text in drafts.items()),
        *script(),
    )
    before = len(scripted.requests)
    report = write_paper(idea, get_settings(), WriteupOptions(fix_rounds=2), search=search)

    sent = [r["body"] for r in scripted.requests[before:]]
    sections = [body for body in sent if "Write the" in body["messages"][-1]["content"]]
    assert len(sections) == len(drafts) and {b["max_tokens"] for b in sections} == {SMALL_SECTION_TOKENS}
    for request in ("Critique your", "These statements disagree", "section below has problems"):
        assert not any(request in json.dumps(body) for body in sent)
    assert len(report.rounds) == 1 and report.ok  # built right the first time: nothing left to change
    reported = [c.sentence for c in report.claims_remaining]  # checked, reported, not argued
    assert reported[0] == EMBEDDED_ABSTRACT and reported[-1] == stubborn  # as written, its numbers whole
    assert report.unresolved_citations == ["fake2099missing"]  # dropped at once, never handed back
    text = pdf_text(idea / "paper.pdf")  # its text set as prose, cut after its last whole sentence
    assert "## Method Our runs_x & $y$ in % use \\textbf{z}, a cafe as Nichol and Dhariwal [2021] do." in text
    assert "do. An" not in text
    shown = [m["content"] for body in sections for m in body["messages"]]
    assert "2020-05-08T08:32:03.3724649243468468" in shown[-1]  # the sections so far, as it wrote them
    assert not any("\\hspace{0pt plus 2em}" in content for content in shown)  # not the breaks set in them


def test_a_small_models_prose_keeps_only_its_citations_and_references():
    assert as_prose("See Table~\\ref{tab:r}, \\citep{a_b} and x_y/z.\n\n\\emph{#1} ^ \x07ok. Then") == (
        "See Table~\\ref{tab:r}, \\citep{a_b} and x\\_\\allowbreak{}y/\\allowbreak{}z.\n\n"
        "\\textbackslash{}emph\\{\\#1\\} \\^{} ok."
    )


def test_a_small_models_run_of_digits_still_breaks_into_lines(tmp_path):
    digits = "7.3347.9229.5181." + ".".join("1122344444555555566666" * 4)  # as the embedded model wrote it
    (tmp_path / "t.tex").write_text(
        "\\documentclass{article}\\begin{document}"
        + as_prose(f"The results are {digits} and more.")
        + "\\end{document}"
    )
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, check=True, capture_output=True
    )
    assert "Overfull \\hbox" not in (tmp_path / "t.log").read_text()


def test_our_table_running_off_the_page_is_narrowed_without_the_model(idea, scripted):
    spec = json.loads((idea / "template.json").read_text())
    for name in ("train_time", "steps_to_target"):
        spec["metrics"][name]["primary"] = True
    spec["metrics"]["accuracy"]["label"] = "accuracy on the held-out test split"
    (idea / "template.json").write_text(json.dumps(spec))
    scripted.add(*script())
    context = load_context(idea)
    sections = {name: Section(name=name, latex="Short text.") for name in ("abstract", "results")}
    writeup = Writeup(context, get_settings(), WriteupOptions(fix_rounds=1))
    wide = Layout(tables=TableLayout(main_columns=4))
    first, sections = writeup.build_round(1, sections, Bibliography(), wide)
    overfull = first.result.of("overfull")
    assert overfull and "too wide" in overfull[0].message and overfull[0].overflow_pt > 10
    assert first.next_layout is not None and first.next_layout.tables.main_columns < 4
    second, _ = writeup.build_round(2, sections, Bibliography(), first.next_layout)
    assert second.result.ok and not second.result.of("overfull")
    assert "tab:results-2" in (idea / "latex" / "paper.tex").read_text()  # split, never shrunk


def test_missing_results_and_the_cli_error(isolated):
    idea = isolated / "empty"
    idea.mkdir()
    (idea / "idea.json").write_text("{}")
    with pytest.raises(ConfigError, match="no run with a usable final_info.json"):
        load_context(idea)
    result = subprocess.run(
        [sys.executable, "-m", "aisci", "write", str(idea), "--offline"], capture_output=True, text=True
    )
    assert result.returncode == 1 and result.stderr.startswith("[error]") and "Traceback" not in result.stderr


def test_results_keep_stderrs_unreached_metrics_and_skip_broken_runs(idea):
    (idea / "run_2").mkdir()
    (idea / "run_2" / "final_info.json").write_text(json.dumps({"alpha": {"means": {}}}))
    results = load_results(idea)
    assert [r.name for r in results.runs] == ["Baseline", "Run 1"]
    assert "malformed" in results.skipped["run_2"]
    info = json.loads((idea / "run_1" / "final_info.json").read_text())
    assert results.runs[1].stderrs["alpha"]["loss"] == info["alpha"]["stderrs"]["loss"]
    assert results.runs[1].unreached == {"beta": ["steps_to_target"]}
    assert results.runs[0].unreached == {"alpha": ["steps_to_target"], "beta": ["steps_to_target"]}


def test_the_writer_adds_metrics_that_exist_to_the_main_table(prefect_harness, scripted, isolated, aisci_env):
    from aisci.writeup.main_metrics import candidates
    from aisci.writeup.results import main_tables

    folder = finished_idea(isolated, scripted, aisci_env, extra_metrics=3)
    context = load_context(folder)
    assert candidates(context) == [f"probe_{k}_divergence" for k in range(3)]  # not primary, not timing
    ask = "Pick the metrics for the main results table"
    scripted.add(
        {
            "contains": ask,
            "reply": '{"metrics": ["probe_2_divergence", "no_such_metric", "train_time"]}',
            "times": 1,
        },
        {"contains": ask, "reply": "the loss, surely"},
    )
    picked = Writeup(context, get_settings()).pick_metrics()
    assert picked == ["probe_2_divergence"]  # what does not exist, or is wall-clock time, is dropped
    results = context.results.model_copy(update={"picked": picked})
    assert results.main_metrics()[-1] == "probe_2_divergence"
    tables = "".join(latex for _, latex in main_tables(results, TableLayout()))
    assert r"probe\_\allowbreak{}2\_\allowbreak{}divergence" in tables
    assert Writeup(context, get_settings()).pick_metrics() == []  # an unusable reply picks nothing
