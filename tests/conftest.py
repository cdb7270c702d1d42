"""Shared fixtures: a clean environment per test, the scripted model server, settings pointing at it."""

import os
import tempfile
from pathlib import Path

import pytest
from scripted_server import ScriptedServer

from aisci import prefect_env
from aisci.settings import LLMOptions, RoleModels, Settings, get_settings

REPO = Path(__file__).resolve().parents[1]

# Prefect reads its settings when first imported, which a test module may do: aisci's go first, as a CLI
# command applies them before it starts a flow.
prefect_env.apply(Settings(workspace=Path(tempfile.mkdtemp(prefix="aisci-prefect-"))))


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No developer settings or keys leak in: fresh cwd, no AISCI_* or provider keys, settings rebuilt."""
    for name in list(os.environ):
        if name.startswith("AISCI_") or name.endswith("_API_KEY"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def scripted() -> ScriptedServer:
    with ScriptedServer([]) as server:
        yield server


@pytest.fixture
def scripted_settings(scripted: ScriptedServer, tmp_path: Path) -> Settings:
    return Settings(
        workspace=tmp_path / "workspace",
        models=RoleModels(default="openai/scripted"),
        llm=LLMOptions(api_base=scripted.url, retry_base_delay_s=0.01, max_retries=3),
    )


@pytest.fixture
def fake_settings(tmp_path: Path) -> Settings:
    """Settings for a gateway given a FakeProvider (tests/fake_provider.py): a named model, no endpoint."""
    return Settings(
        workspace=tmp_path / "workspace",
        models=RoleModels(default="fake/model"),
        llm=LLMOptions(retry_base_delay_s=0.01, max_retries=3),
    )


@pytest.fixture(scope="session")
def prefect_harness():
    """One ephemeral Prefect API for the whole session (it takes ~30 s to start on 2 cores)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def aisci_env(monkeypatch: pytest.MonkeyPatch):
    """Set environment variables for a test and rebuild the settings from them."""

    def set_env(**values: object) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()

    return set_env


@pytest.fixture
def scripted_env(aisci_env, scripted: ScriptedServer):
    """The environment of flows run against the scripted model with the local sandbox, in `workspace`."""

    def set_env(workspace: Path) -> None:
        aisci_env(
            AISCI_WORKSPACE=workspace,
            AISCI_SANDBOX_BACKEND="local",
            AISCI_MODELS__DEFAULT="openai/scripted",
            AISCI_LLM__API_BASE=scripted.url,
            AISCI_RUN_TIMEOUT_S=30,
        )

    return set_env


@pytest.fixture(scope="session")
def smoke_baseline(tmp_path_factory: pytest.TempPathFactory):
    """A template's smoke baseline, trained once per session for every test that reads it: (its record, the
    workspace it is in). Readers copy the folder before changing anything in it."""
    from aisci.template_baseline import run_baseline

    made = {}

    def get(name: str):
        if name not in made:
            workspace = tmp_path_factory.mktemp(f"smoke-{name}")
            record = run_baseline(name, workspace, smoke=True, backend="local", timeout_s=300)
            made[name] = (record, workspace)
        return made[name]

    return get
