"""Settings precedence (env > .env > aisci.toml > defaults), masking, and the role model fallback."""

import os
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
    assert (
        "  - AISCI_BUDGET_USD (environment): Input should be greater than or equal to 0"
        in caught.value.message
    )
    assert "  - AISCI_SANDBOX_BACKEND (environment):" in caught.value.message


def test_crash_detection_must_wait_longer_than_a_heartbeat(monkeypatch):
    monkeypatch.setenv("AISCI_PREFECT__HEARTBEAT_S", "60")
    monkeypatch.setenv("AISCI_PREFECT__CRASHED_AFTER_S", "45")
    with pytest.raises(ConfigError) as caught:
        get_settings()
    assert "crashed_after_s (45) must exceed heartbeat_s (60)" in caught.value.message


BROKEN = {
    "toml syntax": ("aisci.toml", "workspace = [unclosed\n", "aisci.toml:1:14: invalid TOML: Invalid value"),
    "toml value": ("aisci.toml", 'workspace = "ws"\nbudget_usd = -1\n', "aisci.toml:2:1: budget_usd: Input"),
    "toml table": ("aisci.toml", "[prefect]\n  heartbeat_s = 5\n", "aisci.toml:2:3: prefect.heartbeat_s:"),
    "dotenv syntax": (
        ".env",
        'A=1\nAISCI_WORKSPACE="unclosed\n',
        ".env:2:1: cannot parse 'AISCI_WORKSPACE=\"unclosed'",
    ),
    "dotenv value": (
        ".env",
        "\nAISCI_SMOKE=perhaps\n",
        ".env:2:1: AISCI_SMOKE: Input should be a valid boolean",
    ),
}


@pytest.mark.parametrize("case", BROKEN)
@pytest.mark.parametrize("command", [["config", "show"], ["doctor"], ["llm", "hi"], ["template", "list"]])
def test_a_broken_config_is_one_line_naming_the_place_for_every_command(isolated, case, command):
    name, text, expected = BROKEN[case]
    (isolated / name).write_text(text)
    result = subprocess.run([*AISCI, *command], capture_output=True, text=True)
    assert result.returncode == 1
    first, *rest = result.stderr.splitlines()
    assert first.startswith("[error] ") and expected in first, result.stderr
    assert "Traceback" not in result.stderr and len(rest) == 1  # the hint


def test_a_bad_json_variable_names_it(monkeypatch):
    monkeypatch.setenv("AISCI_GPUS", "[0,")
    with pytest.raises(ConfigError, match=r"^AISCI_GPUS \(environment\): Expecting value: line 1 column 4"):
        get_settings()


def test_dotenv_is_loaded_once_below_the_environment_and_litellm_loads_none(isolated):
    """litellm, imported from a folder below a `.env`, would load that file; aisci reads only its own."""
    (isolated / ".env").write_text("OPENAI_API_KEY=sk-parent-folder-key-123\n")
    project = isolated / "project"
    project.mkdir()
    (project / ".env").write_text("GEMINI_API_KEY=gm-project-key-456\nAISCI_BUDGET_USD=3\nAISCI_SMOKE=1\n")
    code = (
        "import os; from aisci.settings import get_settings, describe; s = get_settings();"
        "import litellm; rows = {k: o for k, _, o in describe(s)};"
        "print(os.environ.get('OPENAI_API_KEY'), s.model_for('review'), s.budget_usd, rows['budget_usd'],"
        " rows['smoke'], get_settings.cache_clear() or get_settings().model_for('review'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "LITELLM_MODE"} | {"AISCI_BUDGET_USD": "5"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True, env=env
    ).stdout.split()
    assert out == ["None", "gemini/gemini-2.5-pro", "5.0", "env", ".env", "gemini/gemini-2.5-pro"]


def test_config_show_masks_credentials_inside_urls(isolated, monkeypatch):
    monkeypatch.setenv("AISCI_STORAGE_URL", "s3://user:pw-in-url-secret@minio:9000/aisci")
    monkeypatch.setenv("AISCI_PREFECT__API_URL", "https://token-0123456789@prefect.example/api")
    out = subprocess.run(
        [*AISCI, "config", "show"],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ | {"COLUMNS": "200"},
    ).stdout
    assert "pw-in-url-secret" not in out and "token-0123456789" not in out
    assert "s3://********@minio:9000/aisci" in out and "https://********@prefect.example/api" in out


def test_role_models_fall_back_to_default_then_hosted_key_then_local(monkeypatch):
    assert Settings().model_for("review") == LOCAL_MODEL
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key-000")
    assert Settings().model_for("review") == "openai/gpt-4o"
    settings = Settings(
        models=RoleModels(default="gemini/gemini-2.5-pro", review="anthropic/claude-sonnet-4-5")
    )
    assert settings.model_for("review") == "anthropic/claude-sonnet-4-5"
    assert settings.model_for("coding") == "gemini/gemini-2.5-pro"
