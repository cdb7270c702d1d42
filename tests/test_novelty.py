"""Novelty rounds with the scripted model and the loopback Semantic Scholar API."""

import json
import socket

from idea_fixtures import step
from s2_server import S2Server, recorded

from aisci.literature import S2Client, S2Options, check_novelty, save_novelty
from aisci.llm import Gateway

TITLE = "Cosine noise schedules for 2D DDPMs"
DESCRIPTION = "Hypothesis: a cosine schedule lowers KL on 2D data.\nExperiment: swap the schedule."


class NoWait:
    def acquire(self) -> None:
        pass


def s2(url: str, cache_dir=None) -> S2Client:
    options = S2Options(api_url=url, max_retries=1, retry_base_delay_s=0.01, timeout_s=5)
    return S2Client(cache_dir=cache_dir, options=options, limiter=NoWait())


def test_search_then_decide_names_the_closest_papers(scripted, scripted_settings, tmp_path):
    scripted.add(
        {
            "contains": "Round 3 of 3",
            "reply": step("not_novel", closest=[2, 9], justification="[2] did it."),
            "times": 1,
        },
        {"contains": "Round 2 of 3", "reply": step("search", query="2D toy diffusion"), "times": 1},
        {"contains": "Round 1 of 3", "reply": step("search", query="cosine noise schedule"), "times": 1},
    )
    with S2Server((200, recorded("search_noise_schedule")), (200, recorded("search_empty"))) as api:
        result = check_novelty(
            "cosine_2d", TITLE, DESCRIPTION, Gateway(scripted_settings), s2(api.url).search, 3
        )
    assert result.verdict == "not_novel" and result.rounds == 3
    assert [p.title for p in result.closest] == ["Improved Denoising Diffusion Probabilistic Models"]
    assert result.justification == "[2] did it."
    assert [q.query for q in result.queries] == ["cosine noise schedule", "2D toy diffusion"]
    prompts = [json.dumps(r["body"]["messages"]) for r in scripted.requests]
    assert "[2] Improved Denoising Diffusion Probabilistic Models (Alex Nichol et al., 2021" in prompts[1]
    assert "No papers found for '2D toy diffusion'" in prompts[2]
    saved = json.loads(save_novelty(tmp_path / "idea", result).read_text())
    assert saved["verdict"] == "not_novel" and len(saved["papers_seen"]) == 3
    assert saved["closest"][0]["paper_id"] == "de18baa4964804cf471d85a5a090498242d2e79f"


def test_a_verdict_needs_a_search_first(scripted, scripted_settings):
    scripted.add(
        {
            "contains": "Round 3 of 3",
            "reply": step("novel", closest=[1], justification="[1] is unrelated."),
            "times": 1,
        },
        {"contains": "Round 2 of 3", "reply": step("search", query="cosine schedule"), "times": 1},
        {"contains": "Round 1 of 3", "reply": step("novel", justification="Sounds new."), "times": 1},
    )
    with S2Server((200, recorded("search_noise_schedule"))) as api:
        result = check_novelty(
            "cosine_2d", TITLE, DESCRIPTION, Gateway(scripted_settings), s2(api.url).search, 3
        )
    assert result.verdict == "novel" and result.closest[0].year == 2020
    assert "Search first" in json.dumps(scripted.requests[1]["body"]["messages"])
    final = scripted.requests[2]["body"]["messages"]
    assert '"enum":["novel","not_novel"]' in final[-1]["content"]  # the last round may only decide


def test_a_model_that_never_searches_gets_no_verdict(scripted, scripted_settings):
    scripted.add({"reply": step("not_novel", justification="A classic experiment of 2002.")})
    with S2Server() as api:
        result = check_novelty(
            "cosine_2d", TITLE, DESCRIPTION, Gateway(scripted_settings), s2(api.url).search, 3
        )
    assert result.verdict == "unknown" and result.rounds == 3 and result.queries == []
    assert not result.unreachable  # the writeup will still search for its citations
    assert result.reason == "the model gave verdicts without searching in all 3 rounds (it said not_novel)"
    assert api.requests == []


def test_unreachable_semantic_scholar_gives_unknown_with_the_reason(scripted, scripted_settings):
    scripted.add({"reply": step("search", query="cosine noise schedule")})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = check_novelty(
        "cosine_2d", TITLE, DESCRIPTION, Gateway(scripted_settings), s2(f"http://127.0.0.1:{port}").search, 3
    )
    assert result.verdict == "unknown" and result.rounds == 1 and result.unreachable
    assert "Semantic Scholar failed 2 times" in result.reason and "ConnectError" in result.reason


def test_rerun_is_answered_from_the_cache(scripted, scripted_settings, tmp_path):
    scripted.add(
        {"contains": "Round 2 of 2", "reply": step("novel", closest=[1], justification="[1] differs.")},
        {"contains": "Round 1 of 2", "reply": step("search", query="cosine noise schedule")},
    )
    with S2Server((200, recorded("search_noise_schedule"))) as api:
        for _ in range(2):
            result = check_novelty(
                "cosine_2d", TITLE, DESCRIPTION, Gateway(scripted_settings), s2(api.url, tmp_path).search, 2
            )
            assert result.verdict == "novel"
    assert len(api.requests) == 1 and result.queries[0].cached
