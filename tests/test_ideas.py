"""Idea generation against the scripted model: reflection rounds, duplicate rejection, ranking, archive."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fake_provider import FakeProvider
from idea_fixtures import draft, make_template
from s2_server import S2Server, recorded

from aisci.errors import TemplateError
from aisci.ideation import (
    Archive,
    GenerationOptions,
    Outcome,
    ScoreWeights,
    generate_ideas,
    load_template,
    record_outcome,
    save_idea,
)
from aisci.ideation.models import slugify
from aisci.ideation.similar import Known, find_duplicate, normalise_name, similarity
from aisci.literature import S2Client, S2Options, check_novelty
from aisci.llm import Gateway
from aisci.settings import Settings


class NoWait:
    def acquire(self) -> None:
        pass


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return make_template(tmp_path / "templates" / "toy_diffusion")


def reflection(idea: str, done: bool) -> str:
    return json.dumps({"thought": "Tighter wording.", "idea": json.loads(idea), "done": done})


def prompts_of(scripted) -> list[str]:
    return [json.dumps(r["body"]["messages"]) for r in scripted.requests]


def test_reflection_rounds_revise_and_ranking_follows_the_weights(scripted, scripted_settings, template):
    cosine = draft(
        "cosine_noise", "Cosine schedules in 2D", "Cosine noise helps low-dimensional data.", 6, 8, 3
    )
    cosine_v2 = draft(
        "cosine_noise", "Cosine noise schedules for 2D DDPMs", "Cosine noise lowers KL.", 6, 8, 3
    )
    sparse = draft(
        "sparse_timesteps", "Sparse timestep sampling", "Fewer timesteps suffice on 2D data.", 5, 5, 9
    )
    scripted.add(
        {"contains": "Reflection round 2 of 2", "reply": reflection(cosine_v2, True), "times": 1},
        {"contains": "Reflection round 1 of 2", "reply": reflection(cosine_v2, False), "times": 1},
        {"contains": "Reflection round 1 of 2", "reply": reflection(sparse, True), "times": 1},
        {"contains": "Propose idea 1 of 2", "reply": cosine, "times": 1},
        {"contains": "Propose idea 2 of 2", "reply": sparse, "times": 1},
    )
    workspace = scripted_settings.workspace
    gateway = Gateway(scripted_settings, run_dir=workspace / "s1")
    options = GenerationOptions(
        num_ideas=2, reflections=2, weights=ScoreWeights(interestingness=1, feasibility=0, novelty=3)
    )
    result = generate_ideas(
        load_template(str(template)), gateway, Archive(workspace, "toy_diffusion"), "s1", options
    )

    assert [i.name for i in result.ideas] == ["sparse_timesteps", "cosine_noise"]  # novelty-weighted
    sparse_idea, cosine_idea = result.ideas
    assert sparse_idea.score == pytest.approx((5 + 3 * 9) / 4) and cosine_idea.score == pytest.approx(15 / 4)
    assert cosine_idea.title == "Cosine noise schedules for 2D DDPMs" and cosine_idea.reflections == 2
    assert sparse_idea.reflections == 1  # stopped early: done after round 1
    assert sparse_idea.template_dir == str(template.resolve())  # a worker elsewhere finds the folder
    assert len(scripted.requests) == 5
    round_two = scripted.requests[2]["body"]["messages"]
    assert round_two[0]["content"] == "You are a diffusion researcher."
    assert [m for m in round_two if m["role"] == "assistant"] == [  # only the latest version stays
        {"role": "assistant", "content": json.dumps(json.loads(cosine_v2))}
    ]
    assert "print('train a tiny DDPM')" in round_two[1]["content"]
    assert (
        "cosine_noise: Cosine noise schedules for 2D DDPMs" in prompts_of(scripted)[3]
    )  # idea 2 sees idea 1

    entries = Archive(workspace, "toy_diffusion").entries()
    assert {e.idea.name for e in entries} == {"sparse_timesteps", "cosine_noise"}
    path = save_idea(workspace, sparse_idea)
    assert path == workspace / "s1" / "sparse_timesteps" / "idea.json"
    assert json.loads(path.read_text())["score"] == sparse_idea.score


def test_near_duplicates_are_rejected_and_the_model_is_told(scripted, scripted_settings, template):
    workspace = scripted_settings.workspace
    archive = Archive(workspace, "toy_diffusion")
    scripted.add(
        {
            "contains": "Propose idea 1 of 1",
            "reply": draft("cosine_noise", "Cosine noise", "Cosine helps."),
            "times": 1,
        }
    )
    generate_ideas(
        load_template(str(template)),
        Gateway(scripted_settings),
        archive,
        "s1",
        GenerationOptions(num_ideas=1, reflections=0),
    )

    renamed = draft("Cosine-Noise", "A new title entirely", "Different words altogether here.")
    reworded = draft(
        "warmup_lr", "Learning rate warmup for tiny diffusion models", "Add linear warmup to optimiser."
    )
    fresh = draft("ema_weights", "EMA of weights for 2D DDPMs", "Weight averaging sharpens samples.")
    scripted.add(
        {"contains": "Propose idea 1 of 1", "reply": renamed, "times": 1},
        {"contains": "Propose idea 1 of 1", "reply": reworded, "times": 1},
        {"contains": "Propose idea 1 of 1", "reply": fresh, "times": 1},
    )
    start = len(scripted.requests)
    result = generate_ideas(
        load_template(str(template)),
        Gateway(scripted_settings),
        archive,
        "s2",
        GenerationOptions(num_ideas=1, reflections=0),
    )
    assert [i.name for i in result.ideas] == ["ema_weights"]
    reasons = [r.reason for r in result.rejected]
    assert "name 'Cosine-Noise' is already taken by 'cosine_noise" in reasons[0]
    assert "similar to 'learning_rate_warmup" in reasons[1]
    later = prompts_of(scripted)[start + 1 :]
    assert "previous proposal was rejected: its name" in later[0]
    assert "similar to 'learning_rate_warmup" in later[1]
    assert "learning_rate_warmup: Learning rate warmup" in later[1]  # seeds are listed as explored


def test_duplicate_retries_are_capped(fake_settings, template):
    fake = FakeProvider([draft("learning_rate_warmup", "x", "y")] * 2)
    result = generate_ideas(
        load_template(str(template)),
        Gateway(fake_settings, provider=fake),
        Archive(fake_settings.workspace, "toy_diffusion"),
        "s1",
        GenerationOptions(num_ideas=1, reflections=1, duplicate_retries=1),
    )
    assert result.ideas == [] and len(result.rejected) == 2 and len(fake.requests) == 2
    assert all("Propose idea 1 of 1" in prompt for prompt in fake.prompts())


def test_archive_outcomes_reach_the_next_generation_prompt(fake_settings, template):
    workspace = fake_settings.workspace
    archive = Archive(workspace, "toy_diffusion")
    fake = FakeProvider(
        [
            draft("ema_weights", "EMA weights", "EMA helps."),
            draft("wide_mlp", "Wider MLP", "Width helps."),
            draft("no_clip", "No clipping", "Clipping hurts."),
        ]
    )
    opts = GenerationOptions(num_ideas=3, reflections=0)
    gateway = Gateway(fake_settings, provider=fake)
    first = generate_ideas(load_template(str(template)), gateway, archive, "s1", opts)
    for number, prompt in enumerate(fake.prompts(), 1):
        assert f"Propose idea {number} of 3" in prompt
    by_name = {i.name: i for i in first.ideas}
    record_outcome(
        workspace, by_name["ema_weights"], experiment="ok", review_overall=7.5, review_decision="Accept"
    )
    record_outcome(workspace, by_name["wide_mlp"], experiment="failed")
    entry = record_outcome(workspace, by_name["ema_weights"], review_note="Strong ablations.")
    assert entry.outcome.review_overall == 7.5 and entry.outcome.experiment == "ok"  # merged, not replaced
    with pytest.raises(KeyError):
        archive.record_outcome("s1", "never_generated", experiment="ok")

    fake.replies.append(draft("dropout", "Dropout", "Dropout helps."))
    generate_ideas(
        load_template(str(template)), gateway, archive, "s2", GenerationOptions(num_ideas=1, reflections=0)
    )
    prompt = fake.requests[-1].messages[1]["content"]
    best = prompt.index("Best outcomes")
    worst = prompt.index("Worst outcomes")
    assert (
        best
        < prompt.index("ema_weights: EMA weights -- review 7.5/10 (Accept), experiment ok: Strong ablations.")
        < worst
    )
    assert worst < prompt.index("wide_mlp: Wider MLP -- experiment failed")
    assert "no_clip: No clipping" in prompt[prompt.index("already explored") :]  # pending: listed, not ranked
    assert "no_clip: No clipping --" not in prompt


def test_similarity_and_names():
    assert normalise_name("Adaptive-Noise_Schedule") == normalise_name("adaptive noise schedule")
    assert similarity("Cosine noise schedule for DDPM", "A DDPM with cosine noise schedule") == 1.0
    assert similarity("Cosine noise schedule", "EMA of weights") == 0.0
    known = [Known("ema", "EMA of weights", "averaging")]
    assert find_duplicate("ema_v2", "EMA of the weights averaging", known, 0.6) is not None
    assert find_duplicate("dropout", "Dropout in the denoiser", known, 0.6) is None


def test_scores_and_outcome_ranks():
    with pytest.raises(ValueError, match="at least one score weight"):
        ScoreWeights(interestingness=0, feasibility=0, novelty=0)
    assert Outcome().rank() is None
    assert Outcome(novelty="not_novel").rank() == 0.0
    assert Outcome(experiment="failed", review_overall=3).rank() == 3


def test_template_errors_are_actionable(tmp_path, template):
    with pytest.raises(TemplateError, match="no template folder or name 'nope'") as err:
        load_template("nope")
    assert "2d_diffusion" in (err.value.hint or "")
    (template / "prompt.json").write_text("{}")
    with pytest.raises(TemplateError, match="prompt.json is missing or lacks"):
        load_template(str(template))


def test_cli_names_a_missing_template_before_starting_prefect(isolated):
    result = subprocess.run(
        [sys.executable, "-m", "aisci", "ideas", "--template", "nope", "--workspace", str(isolated / "ws")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert (
        result.stderr.startswith("[error] no template folder or name 'nope'")
        and "2d_diffusion" in result.stderr
    )
    assert not (isolated / "ws" / ".prefect").exists()


@pytest.mark.local_model
def test_embedded_model_generates_reflects_and_checks_novelty(tmp_path, template):
    settings = Settings(workspace=tmp_path / "ws")
    gateway = Gateway(settings, run_dir=settings.workspace / "s1")
    assert gateway.target("ideation").local
    options = GenerationOptions(num_ideas=1, reflections=1, duplicate_retries=0)
    archive = Archive(settings.workspace, "toy_diffusion")
    result = generate_ideas(load_template(str(template)), gateway, archive, "s1", options)
    assert len(result.ideas) + len(result.rejected) == 1  # a 135M model may well repeat the seed idea
    for idea in result.ideas:
        assert 1 <= idea.score <= 10 and idea.name == slugify(idea.name) and idea.reflections == 1
    with S2Server((200, recorded("search_noise_schedule"))) as api:
        client = S2Client(options=S2Options(api_url=api.url), limiter=NoWait())
        verdict = check_novelty("toy", "EMA of weights", "Hypothesis: EMA helps.", gateway, client.search, 2)
    assert verdict.rounds <= 2
    if verdict.queries:  # the 135M model searches only some of the time
        assert verdict.verdict in ("novel", "not_novel")
    else:
        assert verdict.verdict == "unknown" and "without searching" in verdict.reason
