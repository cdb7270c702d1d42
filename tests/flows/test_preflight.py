"""The Prefect base: a flow runs on the embedded ephemeral API with aisci's own Prefect settings."""

import os

import pytest

from aisci.errors import ConfigError
from aisci.prefect_env import prefect_env
from aisci.settings import Settings


def test_prefect_env_keeps_everything_in_the_workspace(tmp_path):
    env = prefect_env(Settings(workspace=tmp_path / "ws", prefect={"api_url": "http://gpu-head:4200/api"}))
    assert env["PREFECT_HOME"] == str(tmp_path / "ws" / ".prefect")
    assert env["PREFECT_RESULTS_LOCAL_STORAGE_PATH"].startswith(env["PREFECT_HOME"])
    assert env["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert env["PREFECT_API_URL"] == "http://gpu-head:4200/api"
    assert "PREFECT_API_URL" not in prefect_env(Settings())
    assert prefect_env(Settings(prefect={"heartbeat_s": 45}))["PREFECT_FLOWS_HEARTBEAT_FREQUENCY"] == "45"


def test_preflight_flow_publishes_the_checks(prefect_harness, scripted, aisci_env):
    from prefect.artifacts import Artifact
    from prefect.settings import get_current_settings

    from flows.preflight import preflight_flow

    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    # in-process runs beat as often as the crash automation expects, not at Prefect's default 180 s
    assert get_current_settings().flows.heartbeat_frequency == Settings().prefect.heartbeat_s
    scripted.add({"reply": "OK"})
    aisci_env(
        AISCI_SANDBOX_BACKEND="local",
        AISCI_MODELS__DEFAULT="openai/scripted",
        AISCI_LLM__API_BASE=scripted.url,
    )
    state = preflight_flow(return_state=True)
    assert state.is_completed()
    names = [c.name for c in state.result()]
    assert "pdflatex" in names and "model openai/scripted" in names
    artifact = Artifact.get("preflight")
    assert artifact is not None and "pdflatex" in str(artifact.data)


def test_preflight_flow_fails_with_the_missing_pieces(prefect_harness, scripted, aisci_env):
    from flows.preflight import preflight_flow

    scripted.add({"status": 401})
    aisci_env(
        AISCI_SANDBOX_BACKEND="local",
        AISCI_MODELS__DEFAULT="openai/scripted",
        AISCI_LLM__API_BASE=scripted.url,
    )
    state = preflight_flow(return_state=True)
    assert state.is_failed()
    with pytest.raises(ConfigError, match="openai/scripted refused the credentials"):
        state.result()


def test_the_ideation_flow_checks_before_it_spends(
    prefect_harness, scripted, scripted_env, aisci_env, tmp_path
):
    from flows.ideation import ideation_flow

    scripted.add({"reply": "never asked"})
    scripted_env(tmp_path / "ws")
    aisci_env(AISCI_MODELS__IDEATION="anthropic/claude-sonnet-4-5", AISCI_LLM__API_BASE="")  # hosted, no key
    state = ideation_flow("2d_diffusion", num_ideas=1, return_state=True)
    assert state.is_failed()
    with pytest.raises(ConfigError) as caught:
        state.result()
    assert caught.value.message.startswith(
        "the ideas cannot start:\n  - model anthropic/claude-sonnet-4-5: anthropic/claude-sonnet-4-5 needs "
        "ANTHROPIC_API_KEY, which is not set"
    )
    assert scripted.requests == [] and not (tmp_path / "ws" / "archive").exists()
