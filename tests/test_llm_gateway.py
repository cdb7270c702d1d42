"""The gateway against the scripted server: litellm's real client path, over real HTTP."""

import json
import logging
import os

import pytest
from fake_provider import FakeProvider
from pydantic import BaseModel, Field

from aisci.errors import (
    BudgetExceeded,
    LLMAuthError,
    LLMContextError,
    LLMError,
    LLMModelNotFound,
    LLMRequestError,
    LLMResponseError,
)
from aisci.llm import Gateway, local, structured
from aisci.llm.ledger import LEDGER
from aisci.llm.provider import Failure, Reply
from aisci.llm.structured import schema_of
from aisci.llm.transcript import Transcript
from aisci.review.form import Reflection, ReviewForm
from aisci.settings import LLMOptions, RoleModels, Settings


class Verdict(BaseModel):
    decision: str = Field(max_length=20)
    score: int = Field(ge=1, le=10)
    reasons: list[str]


GOOD = json.dumps({"decision": "novel", "score": 7, "reasons": ["no close paper"]})
USER = [{"role": "user", "content": "Judge this idea."}]


def lines(run_dir):
    return [json.loads(x) for x in (run_dir / "transcript.jsonl").read_text().splitlines()]


def test_schema_mode_sends_the_json_schema(scripted, scripted_settings, tmp_path):
    settings = scripted_settings.model_copy(
        update={"llm": scripted_settings.llm.model_copy(update={"structured_output": "schema"})}
    )
    scripted.add({"role": "review", "reply": GOOD})
    verdict = Gateway(settings, tmp_path).complete_json("review", USER, Verdict)
    assert verdict == Verdict(decision="novel", score=7, reasons=["no close paper"])
    sent = scripted.requests[0]["body"]["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["schema"]["properties"]["score"]["maximum"] == 10


def test_prompt_mode_reads_fenced_json(scripted, scripted_settings, tmp_path):
    scripted.add({"reply": f"Here it is:\n```json\n{GOOD}\n```\nDone."})
    verdict = Gateway(scripted_settings, tmp_path).complete_json("review", USER, Verdict)
    assert verdict.score == 7
    body = scripted.requests[0]["body"]
    assert "response_format" not in body
    assert "JSON schema" in body["messages"][-1]["content"]


def test_repair_round_fixes_an_invalid_reply(scripted, scripted_settings, tmp_path):
    scripted.add(
        {"contains": "could not be used", "reply": GOOD},
        {"reply": json.dumps({"decision": "novel", "score": 42, "reasons": []}), "times": 1},
    )
    verdict = Gateway(scripted_settings, tmp_path).complete_json("review", USER, Verdict)
    assert verdict.score == 7
    repair = scripted.requests[1]["body"]["messages"][-1]["content"]
    assert "score" in repair and "less than or equal to 10" in repair
    assert len(lines(tmp_path)) == 2


def test_reply_still_invalid_after_repair_keeps_the_raw_text(scripted, scripted_settings, tmp_path):
    scripted.add({"reply": "I cannot answer in JSON, sorry."})
    with pytest.raises(LLMResponseError) as caught:
        Gateway(scripted_settings, tmp_path).complete_json("review", USER, Verdict)
    assert caught.value.raw == "I cannot answer in JSON, sorry."
    assert "Verdict" in caught.value.message
    assert len(scripted.requests) == 2


def test_a_reply_cut_off_at_its_limit_says_so(scripted, scripted_settings, tmp_path):
    """The reason an unclosed JSON object is invalid reaches the model's repair request and the user."""
    scripted.add(
        {"reply": '{"decision": "novel", "score": 7, "reasons": ["1,1,1,1', "finish_reason": "length"}
    )
    with pytest.raises(LLMResponseError) as caught:
        Gateway(scripted_settings, tmp_path).complete_json("review", USER, Verdict, max_tokens=50)
    assert "stopped at its token limit before the JSON closed" in caught.value.message
    assert "stopped at its token limit" in scripted.requests[1]["body"]["messages"][-1]["content"]
    assert [line.get("cut_off") for line in lines(tmp_path)] == [True, True]


@pytest.mark.parametrize("status", [429, 503])
def test_transient_errors_are_retried_with_backoff(scripted, scripted_settings, tmp_path, status):
    scripted.add({"status": status, "times": 2}, {"reply": "fine"})
    delays = []
    reply = Gateway(scripted_settings, tmp_path, sleep=delays.append).complete("coding", USER)
    assert reply.text == "fine"
    assert len(scripted.requests) == 3
    assert len(delays) == 2 and delays[1] > delays[0] * 0.6  # doubling, with jitter in [0.5, 1.5]
    assert lines(tmp_path)[-1]["attempts"] == 3


def test_malformed_body_is_retried(scripted, scripted_settings, tmp_path):
    scripted.add({"raw": "<html>gateway hiccup", "times": 1}, {"reply": "recovered"})
    reply = Gateway(scripted_settings, tmp_path, sleep=lambda s: None).complete("coding", USER)
    assert reply.text == "recovered"


def test_auth_error_is_not_retried_and_names_key_and_model(scripted, scripted_settings, tmp_path):
    scripted.add({"status": 401, "message": "Incorrect API key provided"})
    with pytest.raises(LLMAuthError) as caught:
        Gateway(scripted_settings, tmp_path, sleep=lambda s: None).complete("writing", USER)
    assert len(scripted.requests) == 1
    assert "openai/scripted" in caught.value.message
    assert "AISCI_LLM__API_KEY" in caught.value.message


CONTEXT = (
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. "
    "Please reduce the length of the messages."
)
PROVIDER_ERRORS = {
    "400": (
        {"status": 400, "message": "Invalid value for 'temperature'", "type": "invalid_request_error"},
        LLMRequestError,
        "openai/scripted rejected the request: Invalid value for 'temperature'",
    ),
    "400 context": (
        {"status": 400, "message": CONTEXT, "code": "context_length_exceeded", "param": "messages"},
        LLMContextError,
        "openai/scripted cannot take a prompt of about 9000 tokens (its window is 8192)",
    ),
    "413": (
        {"status": 413, "message": "Request too large for gpt-4o", "code": "request_too_large"},
        LLMContextError,
        "openai/scripted cannot take a prompt of about",
    ),
    "404": (
        {"status": 404, "message": "The model `scripted` does not exist", "code": "model_not_found"},
        LLMModelNotFound,
        "openai/scripted is not a model this provider serves: The model `scripted` does not exist",
    ),
    "401": (
        {"status": 401, "message": "Incorrect API key provided", "code": "invalid_api_key"},
        LLMAuthError,
        "openai/scripted refused the credentials (AISCI_LLM__API_KEY): Incorrect API key provided",
    ),
    "403": (
        {"status": 403, "message": "Project does not have access to model", "code": "model_access_denied"},
        LLMAuthError,
        "openai/scripted refused access (AISCI_LLM__API_KEY): Project does not have access to model",
    ),
    "402": (
        {"status": 402, "message": "insufficient credits"},
        LLMError,
        "openai/scripted failed: insufficient",
    ),
}


@pytest.mark.parametrize("case", PROVIDER_ERRORS)
def test_provider_errors_are_aisci_errors_recorded_in_the_transcript(
    scripted, scripted_settings, tmp_path, case
):
    rule, error, message = PROVIDER_ERRORS[case]
    scripted.add(rule)
    with pytest.raises(LLMError) as caught:
        Gateway(scripted_settings, tmp_path, sleep=lambda s: None).complete("writing", USER)
    assert type(caught.value) is error
    assert caught.value.message.startswith(message), caught.value.message
    assert "\n" not in caught.value.message and caught.value.hint
    assert not caught.value.transient
    assert len(scripted.requests) == 1  # none of these is worth a retry
    [record] = lines(tmp_path)
    assert record["error"] == caught.value.message and record["error_type"] == error.__name__
    assert record["messages"] == USER and record["reply"] is None


def test_context_error_tells_prompt_size_and_window(scripted, scripted_settings, tmp_path):
    scripted.add({"status": 400, "message": CONTEXT, "code": "context_length_exceeded"})
    with pytest.raises(LLMContextError) as caught:
        Gateway(scripted_settings, tmp_path).complete("writing", USER)
    assert (caught.value.prompt_tokens, caught.value.window) == (9000, 8192)
    scripted.add({"status": 413, "message": "Request Entity Too Large"})
    gateway = Gateway(scripted_settings, tmp_path)
    with pytest.raises(LLMContextError) as caught:
        gateway.complete("writing", USER)
    assert caught.value.window == gateway.context_window("writing")
    assert 0 < caught.value.prompt_tokens < 50


def test_unknown_provider_fails_before_any_request(tmp_path):
    settings = Settings(models=RoleModels(default="nosuchprovider/x-1"))
    with pytest.raises(LLMModelNotFound) as caught:
        Gateway(settings, tmp_path).complete("ideation", USER)
    assert caught.value.message == "nosuchprovider/x-1 names no provider litellm knows"
    assert "provider/model" in caught.value.hint


def test_missing_provider_key_fails_before_any_request(tmp_path):
    settings = Settings(models=RoleModels(coding="anthropic/claude-sonnet-4-5"))
    with pytest.raises(LLMAuthError, match="ANTHROPIC_API_KEY"):
        Gateway(settings, tmp_path).complete("coding", USER)
    assert not (tmp_path / "transcript.jsonl").exists()


def test_budget_stop_keeps_transcript_and_resumes_with_higher_budget(scripted, tmp_path):
    settings = Settings(models=RoleModels(default="openai/gpt-4o"), llm=LLMOptions(api_base=scripted.url))
    scripted.add({"reply": "expensive", "usage": [100_000, 10_000]})
    gateway = Gateway(settings, tmp_path, budget_usd=0.2)
    first = gateway.complete("writing", USER)
    assert first.cost_usd == pytest.approx(100_000 * 2.5e-6 + 10_000 * 1e-5)
    with pytest.raises(BudgetExceeded, match=r"\$0\.3500 of its \$0\.20"):
        gateway.complete("writing", USER)
    assert len(scripted.requests) == 1
    assert lines(tmp_path)[0]["reply"] == "expensive"
    resumed = Gateway(settings, tmp_path, budget_usd=1.0)
    assert resumed.spent_usd == pytest.approx(0.35)
    resumed.complete("writing", USER)
    assert resumed.spent_usd == pytest.approx(0.70)


def test_no_secret_reaches_the_transcript(scripted, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-0123456789")
    settings = Settings(
        models=RoleModels(default="openai/scripted"),
        llm=LLMOptions(api_base=scripted.url, api_key="endpoint-secret-abcdef"),
    )
    scripted.add({"reply": "my key is sk-host-secret-0123456789"})
    prompt = [{"role": "user", "content": "the key endpoint-secret-abcdef leaked into a prompt"}]
    Gateway(settings, tmp_path).complete("ideation", prompt)
    assert scripted.requests[0]["headers"]["authorization"] == "Bearer endpoint-secret-abcdef"
    text = (tmp_path / "transcript.jsonl").read_text()
    assert "endpoint-secret-abcdef" not in text and "sk-host-secret-0123456789" not in text
    assert text.count("[redacted]") == 2


def test_the_settings_secrets_are_redacted_in_an_empty_environment(monkeypatch, tmp_path):
    for name in list(os.environ):
        monkeypatch.delenv(name)
    transcript = Transcript(tmp_path / "transcript.jsonl", ["settings-key-12345"])
    transcript.append({"reply": "the key is settings-key-12345"})
    assert "settings-key-12345" not in transcript.path.read_text()


def test_secrets_known_only_at_write_time_are_redacted(scripted, monkeypatch, tmp_path):
    settings = Settings(
        models=RoleModels(default="openai/scripted"),
        llm=LLMOptions(api_base=scripted.url),
        storage_url="s3://aisci:storage-password-42@minio:9000/bucket",
    )
    gateway = Gateway(settings, tmp_path)
    scripted.add({"reply": "first", "times": 1})
    gateway.complete("ideation", [{"role": "user", "content": "a first exchange, before the keys below"}])
    monkeypatch.setenv("LATE_PROVIDER_TOKEN", 'late-"quoted"-token-99')  # set after a line was written
    monkeypatch.setenv("SOME_DATABASE_URL", "postgresql://u:db-password-77@db/aisci")
    scripted.add({"reply": 'echo late-"quoted"-token-99 and db-password-77'})
    gateway.complete("ideation", [{"role": "user", "content": "storage-password-42"}])
    text = (tmp_path / "transcript.jsonl").read_text()
    for secret in ("storage-password-42", "late-", "db-password-77"):
        assert secret not in text
    assert text.count("[redacted]") == 3


def test_usage_and_unknown_price_counted_once(scripted, scripted_settings, tmp_path, caplog):
    scripted.add({"reply": "ok", "usage": [12, 3]})
    gateway = Gateway(scripted_settings, tmp_path)
    with caplog.at_level(logging.WARNING, logger="aisci.llm"):
        for _ in range(3):
            gateway.complete("ideation", USER)
    assert gateway.usage["ideation"].calls == 3
    assert gateway.usage["ideation"].prompt_tokens == 36
    assert gateway.spent_usd == 0
    assert [r.message for r in caplog.records].count(
        "no price known for openai/scripted: its calls count $0"
    ) == 1
    record = lines(tmp_path)[0]
    assert record["role"] == "ideation" and record["model"] == "openai/scripted"
    assert record["messages"] == USER and record["reply"] == "ok" and record["latency_s"] > 0


class Long(BaseModel):
    summary: str = Field(max_length=1000)
    points: list[str] = Field(min_length=4, max_length=6)


def test_a_fake_provider_goes_through_the_gateways_retries_ledger_and_transcript(fake_settings, tmp_path):
    """The seam for unit tests of prompt logic: no HTTP, the gateway's own request, retries and accounting."""
    busy = Failure("transient", True, "overloaded", 503)
    fake = FakeProvider([busy, Reply("Hello.", prompt_tokens=12, completion_tokens=3, cost_usd=0.25)])
    sleeps = []
    gateway = Gateway(fake_settings, tmp_path, sleep=sleeps.append, provider=fake)
    reply = gateway.complete("writing", USER, temperature=0.2, max_tokens=50)
    assert (reply.text, reply.model, reply.cost_usd) == ("Hello.", "fake/model", 0.25)
    first, second = fake.requests
    assert first == second and first.role == "writing" and first.messages == USER
    assert first.params == {"timeout": fake_settings.llm.timeout_s, "temperature": 0.2, "max_tokens": 50}
    assert len(sleeps) == 1
    (line,) = lines(tmp_path)
    assert (line["attempts"], line["reply"], line["cost_usd"]) == (2, "Hello.", 0.25)
    assert gateway.spent_usd == 0.25 and gateway.usage["writing"].calls == 1
    assert gateway.accounting.ledger.state().spent_usd == 0.25


def test_a_fake_providers_refusal_is_an_aisci_error_and_its_worst_case_is_reserved(fake_settings, tmp_path):
    fake = FakeProvider([Failure("auth", False, "bad key", 401)], worst_case_usd=0.4)
    with pytest.raises(LLMAuthError, match=r"fake/model refused the credentials \(FAKE_API_KEY\): bad key"):
        Gateway(fake_settings, tmp_path, budget_usd=1.0, provider=fake).complete("coding", USER)
    assert lines(tmp_path)[0]["error_type"] == "LLMAuthError"
    with pytest.raises(BudgetExceeded):
        Gateway(fake_settings, tmp_path, budget_usd=0.3, provider=fake).complete("coding", USER)
    assert len(fake.requests) == 1  # the call whose worst case does not fit was never sent


def test_a_timed_out_attempt_counts_at_its_worst_case_and_a_refused_one_at_nothing(fake_settings, tmp_path):
    """The provider took a timed-out request and may have billed it; a refused one it did not."""
    timeout = Failure("transient", True, "timed out", answered=False)
    refused = Failure("rejected", False, "bad request", 400)
    fake = FakeProvider([timeout, Reply("ok", cost_usd=0.01), refused], worst_case_usd=0.1)
    gateway = Gateway(fake_settings, tmp_path, budget_usd=1.0, sleep=lambda _: None, provider=fake)
    gateway.complete("coding", USER)
    assert gateway.accounting.ledger.state().spent_usd == pytest.approx(0.11)
    with pytest.raises(LLMRequestError):
        gateway.complete("coding", USER)
    assert gateway.accounting.ledger.state().spent_usd == pytest.approx(0.11)


def test_without_a_budget_no_ledger_is_written(fake_settings, tmp_path):
    """Nothing to hold against, so no lock and no file: a capped run later rebuilds it from the transcript."""
    gateway = Gateway(
        fake_settings, tmp_path, budget_usd=0.0, provider=FakeProvider([Reply("ok", cost_usd=0.2)])
    )
    gateway.complete("coding", USER)
    assert not (tmp_path / LEDGER).exists()
    capped = Gateway(fake_settings, tmp_path, budget_usd=0.25, provider=FakeProvider([], worst_case_usd=0.1))
    with pytest.raises(BudgetExceeded, match=r"spent \$0.2000 of its \$0.25 budget"):
        capped.complete("coding", USER)


def test_local_schemas_cap_every_string_and_list():
    schema = schema_of(Verdict, max_string=300, max_items=5)
    props = schema["properties"]
    assert props["decision"]["maxLength"] == 20  # a tighter bound is kept
    assert props["reasons"]["maxItems"] == 5
    assert props["reasons"]["items"]["maxLength"] == 300
    assert "maxItems" not in schema_of(Verdict)["properties"]["reasons"]
    capped = schema_of(Long, max_string=200, max_items=3)["properties"]
    assert capped["summary"]["maxLength"] == 200  # a looser bound is tightened
    assert capped["points"]["maxItems"] == 4  # never below the minimum: the grammar must stay satisfiable


def test_the_longest_reply_a_local_schema_allows_fits_its_token_limit():
    """A 135M model under a grammar may fill every string to its cap with digits, a token each; its reply must
    still close before the limit. Review forms are the largest: 13 strings, and the reflection wraps one."""
    for model in (Verdict, ReviewForm, Reflection):
        for max_tokens in (1024, 4096):
            schema = local.reply_schema(model, max_tokens)
            assert structured.longest(schema) <= local.reply_tokens(max_tokens) * local.REPLY_CHARS_PER_TOKEN
    caps = {
        f["maxLength"]
        for f in local.reply_schema(ReviewForm, 4096)["properties"].values()
        if "maxLength" in f
    }
    assert min(caps) >= 60  # room left to say something
    assert (
        local.reply_schema(Verdict, 4096)["properties"]["reasons"]["items"]["maxLength"] == local.MAX_STRING
    )


def test_the_longest_compact_json_is_counted_exactly():
    schema = schema_of(Verdict, max_string=10, max_items=2)
    longest_value = {"decision": "d" * 10, "score": -(10**18), "reasons": ["r" * 10] * 2}
    assert structured.longest(schema) >= len(json.dumps(longest_value, separators=(",", ":")))
    assert structured.longest(schema_of(Verdict)) == float("inf")


@pytest.mark.local_model
def test_embedded_model_returns_schema_valid_json(tmp_path):
    gateway = Gateway(Settings(), tmp_path)
    assert gateway.target("review").local
    verdict = gateway.complete_json(
        "review", USER + [{"role": "user", "content": "Idea: dropout in MLPs."}], Verdict
    )
    assert isinstance(verdict, Verdict) and 1 <= verdict.score <= 10
    assert lines(tmp_path)[0]["model"] == "local/smollm2"
