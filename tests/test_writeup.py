"""The paper writeup: claims checked against the data, tables and BibTeX generated, a real LaTeX build whose
errors go back to the (scripted) model, and the PDF read back with pdftotext."""

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from writeup_fixture import BASELINE, COSINE, DDPM, IMPROVED, SCHEDULES, finished_idea, script, search

from aisci.errors import ConfigError
from aisci.llm import Gateway
from aisci.writeup import Writeup, WriteupOptions, write_paper
from aisci.writeup.citations import Bibliography, bibtex_entry, citation_key, gather_citations
from aisci.writeup.paper import Section, load_context
from aisci.writeup.results import load_results, results_tables


def pdf_text(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return " ".join(unicodedata.normalize("NFKC", text).split())


def test_bibtex_keys_are_stable_and_fields_escaped():
    assert citation_key(DDPM) == "ho2020denoising"
    bib = Bibliography(template_bibtex="@misc{ho2020denoising,\n title={Taken}\n}\n")
    assert bib.add(DDPM).key == "ho2020denoisingb"  # the template's key is kept, ours moves aside
    assert bib.add(DDPM).key == "ho2020denoisingb"
    entry = bibtex_entry(bib.add(SCHEDULES))
    assert "Diffusion Models \\& 50\\% Fewer Steps" in entry and "Jurgen Muller" in entry
    assert entry.startswith("@article{chen2023importance,")


def test_offline_citations_come_from_the_novelty_check(isolated, scripted, scripted_settings):
    idea = finished_idea(isolated)
    scripted.add(*script())
    bib = gather_citations(
        Gateway(scripted_settings), "cosine schedules", Bibliography(), None, [IMPROVED, DDPM], rounds=2
    )
    assert bib.mode == "offline" and "novelty.json" in bib.note
    assert sorted(r.key for r in bib.references) == ["ho2020denoising", "nichol2021improved"]

    def unreachable(query: str, limit: int):
        raise ConnectionError("no route to api.semanticscholar.org")

    context = load_context(idea)
    scripted.add(*script())
    bib = Writeup(context, scripted_settings).citations(unreachable)
    assert bib.mode == "offline" and "ConnectionError" in bib.note
    assert {r.paper.paper_id for r in bib.references} <= {"ddpm", "iddpm"}


def test_whole_writeup_repairs_latex_and_claims(isolated, scripted, scripted_settings):
    idea = finished_idea(isolated)
    fixed_method = "We replace the linear schedule with the cosine schedule of \\citet{nichol2021improved}."
    fixed_results = (
        "Table~\\ref{tab:results-1} lists the results. Run 1 has a lower kl\\_div than the baseline "
        "(0.2874 against 0.3521), an 18.4\\% reduction."
    )
    scripted.add(
        {"contains": "The Method section below fails to build", "reply": fixed_method},
        {"contains": "Run 1 raises the kl", "reply": fixed_results, "times": 1},
        *script(
            {
                "Method": "We replace the schedule with \\cosineschedule{} of \\citet{nichol2021improved}.",
                "Results": "Run 1 raises the kl\\_div from 0.3521 to 0.2874 (Table~\\ref{tab:results-1}).",
                "Conclusion": "Overall, Run 1 reaches a kl\\_div of 0.2222, a clear gain.",
            }
        ),
    )
    report = write_paper(idea, scripted_settings, WriteupOptions(fix_rounds=2), search=search)

    first, second = report.rounds[0], report.rounds[1]
    assert any(
        p.kind == "latex_error" and "Undefined control sequence" in p.message for p in first.result.problems
    )
    assert first.fixed_sections == ["method"] and second.result.ok and report.ok
    assert any("These statements disagree" in json.dumps(r["body"]) for r in scripted.requests)
    remaining = [c.sentence for c in report.claims_remaining]
    assert remaining == ["Overall, Run 1 reaches a kl\\_div of 0.2222, a clear gain."]
    assert report.unresolved_citations == ["fake2099missing"]
    assert report.skipped_runs == {"run_2": "no final_info.json (the run failed or did not finish)"}
    assert report.citation_mode == "semantic_scholar" and "chen2023importance" in report.citations

    text = pdf_text(idea / "paper.pdf")
    for title in (
        "Abstract",
        "Introduction",
        "Related Work",
        "Background",
        "Method",
        "Experimental Setup",
        "Results",
        "Conclusion",
        "References",
    ):
        assert title in text
    for number in ("0.4412 ± 0.0031", "0.4301 ± 0.0029", "0.3521 ± 0.0121", "0.2874 ± 0.0098"):
        assert number in text
    assert "[Ho et al., 2020]" in text and "Nichol and Dhariwal [2021]" in text and "Sohl-Dickstein" in text
    assert "Jonathan Ho, Ajay Jain, and Pieter Abbeel" in text and "[?]" not in text and "??" not in text
    assert "raises" not in text and "lower kl_div than the baseline" in text
    saved = json.loads((idea / "build_report.json").read_text())
    assert saved["ok"] is True and any("0.2222" in line for line in saved["remaining"])


def test_an_overfull_table_is_detected_then_scaled(isolated, scripted, scripted_settings):
    wide = {f"metric_with_a_long_name_{i}": 0.1 * i + 0.01 for i in range(1, 9)}
    runs = tuple({"dino": {"means": {k: v + d for k, v in wide.items()}}} for d in (0.0, 0.5))
    idea = finished_idea(isolated, runs=runs, smoke=True)
    context = load_context(idea)
    assert context.results.smoke and "Smoke-test" in results_tables(context.results)
    sections = {name: Section(name=name, latex="Short text.") for name in ("abstract", "results")}
    writeup = Writeup(context, scripted_settings, WriteupOptions(fix_rounds=1))
    first, sections, scale = writeup.build_round(1, sections, Bibliography(), False)
    overfull = first.result.of("overfull")
    assert overfull and "too wide" in overfull[0].message and scale and first.fixed_sections == []
    second, _, _ = writeup.build_round(2, sections, Bibliography(), scale)
    assert second.result.ok and not second.result.of("overfull")
    assert "Smoke-test results" in pdf_text(second.result.pdf)


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


def test_results_keep_stderrs_and_skip_broken_runs(isolated):
    idea = finished_idea(isolated, runs=(BASELINE, COSINE, {"circle": {"means": {}}}))
    results = load_results(idea)
    assert [r.name for r in results.runs] == ["Baseline", "Run 1"]
    assert "malformed" in results.skipped["run_2"]
    assert results.runs[1].stderrs["circle"]["kl_div"] == 0.0098
