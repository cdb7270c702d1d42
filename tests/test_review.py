"""The reviewer against the scripted server: ensemble means, threshold decision, repair, early stop."""

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from fake_provider import FakeProvider
from review_fixtures import form, reflection, reply

from aisci.errors import ConfigError, LLMResponseError
from aisci.llm import Gateway
from aisci.llm import local as local_model
from aisci.llm.structured import schema_of
from aisci.review import (
    MemberReview,
    MetaReview,
    Paper,
    PaperInfo,
    Review,
    ReviewConfig,
    Reviewer,
    ReviewForm,
    ReviewSteps,
    Threshold,
    combine,
    load_examples,
    prompts,
    read_paper,
    review_paper,
)
from aisci.review.form import CONFIDENCE_SCALE, OVERALL_SCALE, SUB_SCALE, Reflection, scale_text
from aisci.review.improve import improve
from aisci.review.paper import clean_text
from aisci.review.reviewer import REPLY_TOKENS
from aisci.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PAPER = Paper(
    source="paper.txt", pages=["Title: Cosine schedules for tiny diffusion models. Results: KL 0.31."]
)


def reviewer(settings: Settings, tmp_path: Path, **config) -> Reviewer:
    return Reviewer(Gateway(settings, tmp_path / "run"), ReviewConfig(**config))


def reviewed(settings: Settings, tmp_path: Path, **config) -> Review:
    """PAPER reviewed by the in-process loop, as the CLI runs it."""
    (tmp_path / "paper.txt").write_text(PAPER.pages[0])
    steps = ReviewSteps(settings, ReviewConfig(**config), tmp_path / "run")
    return review_paper(tmp_path / "paper.txt", steps)


def test_ensemble_scores_are_means_and_the_meta_review_keeps_its_own_decision(
    scripted, scripted_settings, tmp_path
):
    scripted.add(
        {"contains": "area chair", "reply": reply(5, decision="Reject", summary="The chair's view.")},
        {"reply": reply(4, originality=1), "times": 1},
        {"reply": reply(6, originality=2), "times": 1},
        {"reply": reply(8, originality=3), "times": 1},
    )
    review = reviewed(scripted_settings, tmp_path, ensemble=3, reflections=0)
    assert review.scores["overall"] == review.overall == 6.0
    assert review.scores["originality"] == 2.0 and review.scores["confidence"] == 4.0
    assert review.decision == "Accept"  # mean 6.0 reaches the default threshold 6
    assert review.model_decision == "Reject" and review.form.summary == "The chair's view."
    assert [m.form.overall for m in review.members] == [4, 6, 8]
    assert len(scripted.requests) == 4
    assert scripted.requests[0]["body"]["temperature"] == 0.75


def member(index: int, overall: int, decision: str = "Accept") -> MemberReview:
    return MemberReview(index=index, form=ReviewForm(**form(overall, decision=decision)), reflections=0)


INFO = PaperInfo(source="p", pages_total=1, pages_used=1, chars_total=1, chars_used=1, truncated=False)


@pytest.mark.parametrize(
    ("overalls", "threshold", "decision"),
    [([5, 6], 6.0, "Reject"), ([6, 6], 6.0, "Accept"), ([5, 6], 5.5, "Accept"), ([9, 10], 9.6, "Reject")],
)
def test_decision_is_a_threshold_on_the_mean_overall(overalls, threshold, decision):
    members = [member(i, o, decision="Reject") for i, o in enumerate(overalls)]
    review = combine(INFO, members, MetaReview(), [], Threshold(value=threshold, source="given"), "m")
    assert review.decision == decision
    assert review.model_decision == "Reject"  # the model's own call is kept beside it


def test_without_a_meta_review_the_member_nearest_the_mean_speaks():
    members = [member(0, 2), member(1, 7), member(2, 9)]
    review = combine(INFO, members, MetaReview(), [], Threshold(value=6.0, source="default"), "m")
    assert review.overall == 6.0 and review.form.overall == 7


def test_out_of_range_score_is_repaired_once(scripted, scripted_settings, tmp_path):
    scripted.add(
        {"contains": "could not be used", "reply": reply(7)},
        {"reply": reply(11, confidence=9), "times": 1},
    )
    review = reviewed(scripted_settings, tmp_path, ensemble=1, reflections=0)
    assert review.overall == 7.0 and not review.rejected
    assert review.repairs == review.members[0].repairs == 1
    repair = scripted.requests[1]["body"]["messages"][-1]["content"]
    assert "overall" in repair and "less than or equal to 10" in repair and "confidence" in repair


def test_an_invalid_member_is_dropped_with_its_raw_text_kept(scripted, scripted_settings, tmp_path):
    scripted.add({"reply": "I liked it. 11/10.", "times": 2}, {"reply": reply(8)})
    review = reviewed(scripted_settings, tmp_path, ensemble=2, reflections=0)
    assert [m.index for m in review.members] == [1]
    assert review.rejected[0].step == "review 0" and review.rejected[0].raw == "I liked it. 11/10."
    assert review.overall == 8.0


def test_every_review_invalid_raises_with_the_raw_text(scripted, scripted_settings, tmp_path):
    scripted.add({"reply": "no JSON here"})
    with pytest.raises(LLMResponseError) as caught:
        reviewed(scripted_settings, tmp_path, ensemble=1, reflections=0)
    assert "no JSON here" in caught.value.raw


def test_reflection_stops_when_the_model_says_it_is_done(scripted, scripted_settings, tmp_path):
    scripted.add(
        {"contains": "Reflection round 2 of 5", "reply": reflection(5, done=True)},
        {"contains": "Reflection round 1 of 5", "reply": reflection(4, done=False)},
        {"reply": reply(7)},
    )
    review = reviewed(scripted_settings, tmp_path, ensemble=1, reflections=5)
    (only,) = review.members
    assert only.reflections == 2 and only.stopped_early
    assert review.overall == 5.0
    assert len(scripted.requests) == 3
    sent = scripted.requests[2]["body"]["messages"]
    fed_back = [m for m in sent if m["role"] == "assistant"][-1]
    assert json.loads(fed_back["content"])["overall"] == 4  # the previous round's review is sent back


def test_all_rounds_run_when_the_model_never_says_done(scripted, scripted_settings, tmp_path):
    scripted.add({"contains": "Reflection round", "reply": reflection(6, done=False)}, {"reply": reply(7)})
    (only,) = reviewed(scripted_settings, tmp_path, ensemble=1, reflections=3).members
    assert only.reflections == 3 and not only.stopped_early
    assert len(scripted.requests) == 4


def test_few_shot_examples_are_earlier_turns(fake_settings, tmp_path):
    (tmp_path / "ex.txt").write_text("An example paper about dropout.")
    ai_scientist_keys = {
        k.title() if k != "ethical_concerns" else "Ethical Concerns": v for k, v in form(3).items()
    }
    (tmp_path / "ex.json").write_text(json.dumps(ai_scientist_keys))
    examples = load_examples([tmp_path / "ex.txt"])
    assert examples[0].review.overall == 3
    fake = FakeProvider([reply(6)])
    config = ReviewConfig(ensemble=1, reflections=0, examples=examples)
    few_shot = Reviewer(Gateway(fake_settings, tmp_path / "run", provider=fake), config)
    few_shot.member(few_shot.prepare(PAPER)[0], 0)
    (sent,) = (r.messages for r in fake.requests)
    assert [m["role"] for m in sent[:4]] == ["system", "user", "assistant", "user"]
    assert "dropout" in sent[1]["content"] and json.loads(sent[2]["content"])["overall"] == 3
    assert "Cosine schedules" in sent[3]["content"]


def test_an_example_without_its_review_is_a_config_error(tmp_path):
    (tmp_path / "ex.txt").write_text("text")
    with pytest.raises(ConfigError, match="has no review"):
        load_examples([tmp_path / "ex.txt"])


def test_long_papers_keep_their_first_pages_and_say_so(scripted_settings, tmp_path):
    pages = [f"PAGE{i} " + "x" * 3000 for i in range(1, 9)]
    messages, info = reviewer(scripted_settings, tmp_path, context_tokens=12_000).prepare(
        Paper(source="long.pdf", pages=pages)
    )
    assert info.truncated and info.pages_total == 8 and 0 < info.pages_used < 8
    assert f"first {info.pages_used} of 8 pages" in info.note
    assert "PAGE1 " in messages[-1]["content"] and "PAGE8 " not in messages[-1]["content"]
    _, whole = reviewer(scripted_settings, tmp_path).prepare(Paper(source="long.pdf", pages=pages))
    assert not whole.truncated and whole.pages_used == 8 and whole.note == ""


def test_a_context_too_small_for_any_paper_is_a_config_error(scripted_settings, tmp_path):
    with pytest.raises(ConfigError, match="leaves no room"):
        reviewer(scripted_settings, tmp_path, context_tokens=9000).prepare(PAPER)


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_pdf_text_is_extracted_page_by_page(tmp_path):
    (tmp_path / "p.tex").write_text(
        "\\documentclass{article}\\begin{document}"
        "Denoising diffusion on moons.\\newpage Results: cosine beats linear."
        "\\end{document}"
    )
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "p.tex"], cwd=tmp_path, check=True, capture_output=True
    )
    paper = read_paper(tmp_path / "p.pdf")
    assert len(paper.pages) == 2
    assert "Denoising diffusion on moons." in paper.pages[0]
    assert "cosine beats linear" in paper.pages[1]


@pytest.mark.skipif(shutil.which("latexmk") is None, reason="needs latexmk")
@pytest.mark.parametrize(
    "fonts",
    # without cm-super's Type 1 fonts, pdfLaTeX draws T1 text in bitmap fonts that carry no ToUnicode map
    ["", "\\pdfmapline{-ecrm1095}\n"],
    ids=["installed-fonts", "bitmap-fonts"],
)
def test_pdf_text_from_our_latex_keeps_its_ligatures_and_words(fonts, tmp_path):
    template = fonts + (REPO / "templates" / "2d_diffusion" / "latex" / "template.tex").read_text()
    body = (
        "Diffusion efficient fluffy first, a lone grave accent \\`{} here.\n\n"
        "\\parbox{6em}{\\hspace{0pt}Characterisation of representations}\n"
    )
    preamble = template[: template.index("\\begin{document}")]
    (tmp_path / "p.tex").write_text(f"{preamble}\\begin{{document}}\n{body}\\end{{document}}\n")
    build = ["latexmk", "-pdf", "-interaction=nonstopmode", "p.tex"]
    subprocess.run(build, cwd=tmp_path, check=True, capture_output=True)
    (text,) = read_paper(tmp_path / "p.pdf").pages
    for word in ("Diffusion", "efficient", "fluffy", "first", "Characterisation", "representations"):
        assert word in text
    assert not [c for c in text if unicodedata.category(c) == "Cc" and c != "\n"]


def test_clean_text_maps_font_codes_and_rejoins_hyphenated_words():
    raw = "Di\x1busion e\x1ecient \x1du\x1by \x1crst \ufb01le \x10q\x11\x00\nhyphen-\nated cross-\nentropy"
    assert clean_text(raw + " and cross-entropy") == (
        "Diffusion efficient fluffy first file \u201cq\u201d\nhyphenated cross-entropy and cross-entropy"
    )
    assert clean_text("Kullback-\nLeibler run-\n1") == "Kullback-Leibler run-1"


def test_a_paper_with_nul_bytes_reaches_the_model_clean(scripted, scripted_settings, tmp_path):
    raw = (
        "Title:\x00 Cosine\u00a0schedules\u200b for tiny\x07 models.   \r\n\x0c\n\n\n\n"
        "Method\tKL\tTime\nLinear\t0.31\t12.5\nCosine  schedule      0.27   13.1\ufeff\n"
    )
    (tmp_path / "paper.txt").write_bytes(raw.encode())
    scripted.add({"reply": reply(6)})
    review_paper(
        tmp_path / "paper.txt",
        ReviewSteps(scripted_settings, ReviewConfig(ensemble=1, reflections=0), tmp_path / "run"),
    )
    (sent,) = [m["content"] for m in scripted.requests[0]["body"]["messages"] if "<paper>" in m["content"]]
    paper = sent[sent.index("<paper>\n") + 8 : sent.index("\n</paper>")]
    assert paper == (
        "Title: Cosine schedules for tiny models.\n\n"
        "Method  KL  Time\nLinear  0.31  12.5\nCosine  schedule  0.27  13.1"
    )
    assert not [c for c in sent if unicodedata.category(c) in ("Cc", "Cf") and c != "\n"]
    assert clean_text(paper) == paper  # cleaning twice changes nothing


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="needs pdflatex")
def test_a_pdf_table_reaches_the_model_as_rows(tmp_path):
    (tmp_path / "t.tex").write_text(
        "\\documentclass{article}\\begin{document}Results.\n\n\\begin{tabular}{lrr}\n"
        "Method & KL & Time \\\\\nLinear & 0.31 & 12.5 \\\\\nCosine schedule & 0.27 & 13.1 \\\\\n"
        "\\end{tabular}\\end{document}"
    )
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "t.tex"], cwd=tmp_path, check=True, capture_output=True
    )
    (text,) = read_paper(tmp_path / "t.pdf").pages
    assert "\nMethod KL Time\nLinear 0.31 12.5\nCosine schedule 0.27 13.1\n" in text


@pytest.mark.parametrize("local", [False, True], ids=["hosted", "local-bounds"])
def test_the_rubric_and_the_schema_come_from_one_definition(local):
    if local:
        form, reflection = (local_model.reply_schema(m, REPLY_TOKENS) for m in (ReviewForm, Reflection))
    else:
        form, reflection = schema_of(ReviewForm), schema_of(Reflection)
    guide = prompts.form_guide(form)
    fields = form["properties"]
    scales = {name: SUB_SCALE for name in prompts.SUB_SCORES} | {
        "overall": OVERALL_SCALE,
        "confidence": CONFIDENCE_SCALE,
    }
    for name, scale in scales.items():
        assert sorted(scale) == list(range(fields[name]["minimum"], fields[name]["maximum"] + 1))
        assert fields[name]["description"] == scale_text(scale) and scale_text(scale) in guide
    limited = [(n, f) for n, f in fields.items() if "maxLength" in f or "maxItems" in f]
    assert {n for n, _ in limited} == {"summary", "strengths", "weaknesses", "questions", "limitations"}
    for name, field in limited:
        rule = next(line for line in prompts.length_limits(form) if name in line.split(":")[0])
        for number in (
            field.get("maxLength"),
            field.get("maxItems"),
            field.get("items", {}).get("maxLength"),
        ):
            assert number is None or f"at most {number} " in rule
        assert rule in guide
    thought = reflection["properties"]["thought"]["maxLength"]
    assert f"thought: at most {thought} characters" in prompts.reflection_message(1, 2, reflection)


def test_the_prompt_the_model_receives_states_the_rubric(scripted, scripted_settings, tmp_path):
    scripted.add({"contains": "Reflection round", "reply": reflection(6, done=True)}, {"reply": reply(6)})
    reviewed(scripted_settings, tmp_path, ensemble=1, reflections=1)
    first, second = (json.dumps(r["body"]["messages"]) for r in scripted.requests)
    assert prompts.form_guide(schema_of(ReviewForm)) in first
    assert "summary: at most 1000 characters" in first and "at most 6 points of at most 400" in first
    assert "thought: at most 400 characters" in second


def test_unreadable_papers_are_config_errors(tmp_path):
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf")
    with pytest.raises(ConfigError, match="cannot read"):
        read_paper(tmp_path / "bad.pdf")
    with pytest.raises(ConfigError, match="no paper"):
        read_paper(tmp_path / "missing.pdf")


def test_improvement_reviews_the_revised_paper_once(scripted, scripted_settings, tmp_path):
    scripted.add({"contains": "REVISED", "reply": reply(7)}, {"reply": reply(4)})
    (tmp_path / "paper.txt").write_text("A first draft.")
    calls = []

    def writeup(paper: Path, review, out_dir: Path) -> Path:
        calls.append(review.overall)
        revised = out_dir / "revised.txt"
        revised.write_text(f"REVISED after: {'; '.join(review.form.weaknesses)}")
        return revised

    steps = ReviewSteps(scripted_settings, ReviewConfig(ensemble=1, reflections=0), tmp_path / "run")
    result = improve(tmp_path / "paper.txt", steps, writeup, tmp_path / "improved")
    assert calls == [4.0]
    assert result.before.overall == 4.0 and result.after.overall == 7.0 and result.overall_change == 3.0
    assert "small datasets" in (tmp_path / "improved" / "revised.txt").read_text()
    assert json.loads((tmp_path / "run" / "review.json").read_text())["overall"] == 7  # the revision's


@pytest.mark.local_model
def test_one_review_with_the_embedded_model(tmp_path):
    steps = ReviewSteps(Settings(), ReviewConfig(ensemble=1, reflections=0), tmp_path)
    (tmp_path / "paper.txt").write_text(PAPER.pages[0])
    review = review_paper(tmp_path / "paper.txt", steps)
    assert review.model == "local/smollm2"
    assert 1 <= review.overall <= 10 and review.decision in ("Accept", "Reject")
    assert len(review.members) == 1 and review.members[0].reflections == 0
    assert steps.reviewer.gateway.usage["review"].calls >= 1


def test_review_cli_json_is_the_only_stdout(scripted, isolated):
    scripted.add({"contains": "area chair", "reply": reply(5)}, {"reply": reply(7)})
    (isolated / "draft.txt").write_text("A draft about cosine schedules.")
    env = {"AISCI_MODELS__DEFAULT": "openai/scripted", "AISCI_LLM__API_BASE": scripted.url}
    result = subprocess.run(
        [sys.executable, "-m", "aisci", "review", str(isolated / "draft.txt"), "--json", "-e", "2", "-r", "0"]
        + ["--threshold", "7.5", "--workspace", str(isolated / "ws")],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["overall"] == 7.0 and out["decision"] == "Reject" and out["threshold"] == 7.5
    assert out == json.loads((isolated / "ws" / "review" / "draft" / "review.json").read_text())
