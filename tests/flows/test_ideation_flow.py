"""The ideation flow under the session's Prefect harness: generation, mapped novelty checks, the artifact."""

import json
import socket

import pytest
from idea_fixtures import draft, make_template, step
from s2_server import S2Server, recorded

from aisci.literature import S2Options
from aisci.settings import get_settings


@pytest.fixture
def env(scripted, monkeypatch, tmp_path):
    for name, value in {
        "AISCI_MODELS__DEFAULT": "openai/scripted",
        "AISCI_LLM__API_BASE": scripted.url,
        "AISCI_LLM__RETRY_BASE_DELAY_S": "0.01",
        "AISCI_WORKSPACE": str(tmp_path / "ws"),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    scripted.add(
        {
            "contains": "Propose idea 1 of 2",
            "reply": draft("ema_weights", "EMA of weights", "EMA helps.", 8, 8, 8),
        },
        {"contains": "Propose idea 2 of 2", "reply": draft("wide_mlp", "Wider MLP", "Width helps.", 3, 3, 3)},
        {
            "contains": "Results for 'ema denoiser'",
            "reply": step("novel", closest=[1], justification="[1] differs."),
        },
        {
            "contains": "Results for 'wide mlp'",
            "reply": step("not_novel", closest=[2], justification="[2] did it."),
        },
        {"contains": "The idea: EMA of weights", "reply": step("search", query="ema denoiser")},
        {"contains": "The idea: Wider MLP", "reply": step("search", query="wide mlp")},
    )
    return make_template(tmp_path / "toy_diffusion")


def novelty(url: str):
    from aisci.literature import NoveltyOptions

    s2 = S2Options(api_url=url, interval_s=0.05, max_retries=1, retry_base_delay_s=0.01, timeout_s=5)
    return NoveltyOptions(rounds=3, s2=s2)


def test_ideation_flow_ranks_checks_and_publishes(prefect_harness, env, tmp_path):
    from prefect.artifacts import Artifact

    from flows.ideation import ideation_flow

    with S2Server((200, recorded("search_noise_schedule"))) as api:
        state = ideation_flow(
            template=str(env),
            num_ideas=2,
            reflections=0,
            novelty=novelty(api.url),
            sweep_id="s1",
            return_state=True,
        )
    assert state.is_completed(), state.message
    sweep = state.result()
    assert [(s.idea.name, s.novelty.verdict, s.run) for s in sweep.ideas] == [
        ("ema_weights", "novel", True),
        ("wide_mlp", "not_novel", False),
    ]
    assert sorted(r["params"]["query"] for r in api.requests) == ["ema denoiser", "wide mlp"]
    ws = tmp_path / "ws"
    assert json.loads((ws / "s1" / "ema_weights" / "idea.json").read_text())["score"] == 8.0
    saved = json.loads((ws / "s1" / "wide_mlp" / "novelty.json").read_text())
    assert saved["closest"][0]["year"] == 2021 and len(saved["papers_seen"]) == 3
    assert (ws / "s1" / "wide_mlp" / "transcript.jsonl").exists()
    assert json.loads((ws / "s1" / "ideas.json").read_text())["ideas"][1]["run"] is False
    archived = json.loads((ws / "archive" / "toy_diffusion" / "s1--wide_mlp.json").read_text())
    assert archived["outcome"] == {
        **archived["outcome"],
        "novelty": "not_novel",
        "novelty_note": "[2] did it.",
    }
    artifact = Artifact.get("ideas")
    assert artifact is not None and "ema_weights" in str(artifact.data) and "not_novel" in str(artifact.data)


def test_unreachable_semantic_scholar_marks_ideas_and_the_sweep_decides(prefect_harness, env):
    from flows.ideation import ideation_flow

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sweep = ideation_flow(
        template=str(env), num_ideas=2, reflections=0, novelty=novelty(url), run_unknown=False
    )
    assert {s.novelty.verdict for s in sweep.ideas} == {"unknown"}
    assert not any(s.run for s in sweep.ideas)
    assert all(s.note.startswith("novelty unverified: Semantic Scholar failed") for s in sweep.ideas)


def test_cli_runs_the_flow_and_prints_the_ranked_table(prefect_harness, env, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from aisci.cli import app

    monkeypatch.setenv("COLUMNS", "150")
    with S2Server((200, recorded("search_noise_schedule"))) as api:
        options = novelty(api.url)
        monkeypatch.setattr("aisci.literature.NoveltyOptions", lambda rounds: options)  # loopback S2
        result = CliRunner().invoke(
            app, ["ideas", "--template", str(env), "-n", "2", "-k", "0", "--workspace", str(tmp_path / "cli")]
        )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    ema = next(i for i, line in enumerate(lines) if "ema_weights" in line)
    wide = next(i for i, line in enumerate(lines) if "wide_mlp" in line)
    assert ema < wide and "8.00" in lines[ema] and "novel" in lines[ema] and "yes" in lines[ema]
    assert "not_novel" in lines[wide] and "no" in lines[wide]
    sweeps = [p for p in (tmp_path / "cli").iterdir() if p.name.endswith("-toy_diffusion")]
    assert len(sweeps) == 1 and (sweeps[0] / "ema_weights" / "novelty.json").exists()
    assert f"ideas in {sweeps[0]}" in result.output


def test_prefect_global_rate_limit_spaces_requests(prefect_harness):
    import time

    from aisci.settings import Settings
    from tasks.ideation import PrefectRateLimiter, s2_limiter

    assert isinstance(
        s2_limiter(Settings(prefect={"api_url": "http://head:4200/api"}), 0.2), PrefectRateLimiter
    )
    assert not isinstance(s2_limiter(Settings(), 0.2), PrefectRateLimiter)
    limiter = PrefectRateLimiter("test-semantic-scholar", 0.2)
    started = time.monotonic()
    for _ in range(4):
        limiter.acquire()
    assert time.monotonic() - started >= 3 * 0.2 * 0.9  # the slot decays at 5 per second
