"""Settings precedence (env > .env > aisci.toml > defaults), masking, and the role model fallback."""

import subprocess
import sys

import pytest

from aisci.errors import ConfigError
from aisci.settings import LOCAL_MODEL, RoleModels, Settings, describe, get_settings

AISCI = [sys.executable, "-m", "aisci"]


@pytest.fixture
def layered(isolated, monkeypatch):
    (isolated / "aisci.toml").write_text(
        'workspace = "from-toml"\nbudget_usd = 3\nsandbox_backend = "local"\n'
        '[models]\ncoding = "toml/model"\n'
    )
    (isolated / ".env").write_text("AISCI_BUDGET_USD=4\nAISCI_MODELS__CODING=dotenv/model\n")
    monkeypatch.setenv("AISCI_BUDGET_USD", "5")
    monkeypatch.setenv("AISCI_S2_API_KEY", "s2-secret-value-42")


def test_precedence_env_then_dotenv_then_toml_then_default(layered):
    settings = get_settings()
    assert settings.budget_usd == 5
    assert settings.models.coding == "dotenv/model"
    assert settings.sandbox_backend == "local"
    assert str(settings.workspace) == "from-toml"
    assert settings.sandbox_image == "aisci-experiment:cpu"
    rows = {key: (value, origin) for key, value, origin in describe(settings)}
    assert rows["budget_usd"] == ("5.0", "env")
    assert rows["models.coding"] == ("dotenv/model", ".env")
    assert rows["sandbox_backend"] == ("local", "aisci.toml")
    assert rows["sandbox_image"] == ("aisci-experiment:cpu", "default")
    assert rows["s2_api_key"] == ("********", "env")


def test_config_show_masks_secrets(layered):
    out = subprocess.run([*AISCI, "config", "show"], capture_output=True, text=True, check=True).stdout
    assert "s2-secret-value-42" not in out
    assert "********" in out and "dotenv/model" in out and "aisci.toml" in out


def test_aisci_config_points_at_another_file(isolated, monkeypatch):
    (isolated / "team.toml").write_text("budget_usd = 7.5\n")
    monkeypatch.setenv("AISCI_CONFIG", str(isolated / "team.toml"))
    assert get_settings().budget_usd == 7.5


def test_invalid_values_are_one_error_with_a_bullet_per_field(monkeypatch):
    monkeypatch.setenv("AISCI_BUDGET_USD", "-1")
    monkeypatch.setenv("AISCI_SANDBOX_BACKEND", "vm")
    with pytest.raises(ConfigError) as caught:
        get_settings()
    assert "  - budget_usd:" in caught.value.message
    assert "  - sandbox_backend:" in caught.value.message


def test_crash_detection_must_wait_longer_than_a_heartbeat(monkeypatch):
    monkeypatch.setenv("AISCI_PREFECT__HEARTBEAT_S", "60")
    monkeypatch.setenv("AISCI_PREFECT__CRASHED_AFTER_S", "45")
    with pytest.raises(ConfigError) as caught:
        get_settings()
    assert "crashed_after_s (45) must exceed heartbeat_s (60)" in caught.value.message


def test_invalid_settings_reach_the_cli_as_a_clean_error(monkeypatch):
    monkeypatch.setenv("AISCI_SANDBOX_BACKEND", "vm")
    result = subprocess.run([*AISCI, "config", "show"], capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("[error] invalid settings:")
    assert "Traceback" not in result.stderr


def test_role_models_fall_back_to_default_then_hosted_key_then_local(monkeypatch):
    assert Settings().model_for("review") == LOCAL_MODEL
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-000")
    assert Settings().model_for("review") == "openai/gpt-4o"
    settings = Settings(
        models=RoleModels(default="gemini/gemini-2.5-pro", review="anthropic/claude-sonnet-4-5")
    )
    assert settings.model_for("review") == "anthropic/claude-sonnet-4-5"
    assert settings.model_for("coding") == "gemini/gemini-2.5-pro"
