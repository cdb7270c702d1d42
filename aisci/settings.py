"""Settings: env vars `AISCI_*` > `.env` > `aisci.toml` > defaults. Built on demand by `get_settings()`."""

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aisci.errors import ConfigError

ROLES = ("ideation", "coding", "writing", "review")
Role = Literal["ideation", "coding", "writing", "review"]
LOCAL_MODEL = "local/smollm2"

# Hosted defaults, tried in this order when a role names no model: the first provider whose key is set wins.
HOSTED_DEFAULTS = (
    ("ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"),
    ("OPENAI_API_KEY", "openai/gpt-4o"),
    ("GEMINI_API_KEY", "gemini/gemini-2.5-pro"),
)


class RoleModels(BaseModel):
    """A litellm model string per role; unset roles fall back to `default`, then to auto-detection."""

    default: str | None = None
    ideation: str | None = None
    coding: str | None = None
    writing: str | None = None
    review: str | None = None


class LLMOptions(BaseModel):
    api_base: str | None = Field(None, description="OpenAI-compatible endpoint used for every hosted role")
    api_key: SecretStr | None = Field(
        None, description="key for api_base (providers read their own env vars)"
    )
    timeout_s: float = Field(600.0, gt=0)
    max_retries: int = Field(5, ge=0, description="retries on rate limits, 5xx and timeouts")
    retry_base_delay_s: float = Field(
        2.0, ge=0, description="first backoff delay; doubles per retry, with jitter"
    )
    structured_output: Literal["auto", "schema", "prompt"] = Field(
        "auto", description="schema: provider JSON-schema mode; prompt: parse the reply; auto: ask litellm"
    )


class PrefectOptions(BaseModel):
    api_url: str | None = Field(
        None, description="Prefect server API; unset runs on the embedded ephemeral API"
    )
    work_pool: str | None = Field("gpu", description="work pool of GPU hosts for experiments")
    cpu_pool: str = Field("aisci", description="work pool for sweeps, ideas, writeups and reviews")
    crash_restarts: int = Field(2, ge=0, description="times an experiment whose worker died is started again")
    heartbeat_s: int = Field(30, ge=30, description="how often flow runs report that they live")
    crashed_after_s: int = Field(120, ge=35, description="silence after which a flow run counts as Crashed")
    analytics: bool = False

    @model_validator(mode="after")
    def _beats_before_crash(self) -> "PrefectOptions":
        if self.crashed_after_s <= self.heartbeat_s:
            raise ValueError(
                f"crashed_after_s ({self.crashed_after_s}) must exceed heartbeat_s ({self.heartbeat_s}), "
                "or every live run would be marked Crashed"
            )
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="AISCI_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    workspace: Path = Field(Path("workspace"), description="where every run writes its files")
    storage_url: str | None = Field(
        None,
        description="fsspec URL that idea folders travel through between hosts; unset: a shared workspace",
    )
    models: RoleModels = RoleModels()
    llm: LLMOptions = LLMOptions()
    budget_usd: float = Field(10.0, ge=0, description="cost cap of one run, in USD; 0 disables it")
    sandbox_backend: Literal["docker", "local"] = "docker"
    sandbox_image: str = "aisci-experiment:cpu"
    gpus: list[int] = Field([], description="this host's GPU ids; one experiment holds one at a time")
    run_timeout_s: float = Field(7200.0, gt=0, description="wall-clock limit of one experiment run")
    smoke: bool = Field(False, description="run templates at smoke size (AISCI_SMOKE=1), marked as such")
    s2_api_key: SecretStr | None = Field(None, description="Semantic Scholar API key (optional)")
    prefect: PrefectOptions = PrefectOptions()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, *(source for _, source in file_sources(settings_cls)))

    def model_for(self, role: Role) -> str:
        """The litellm model string a role uses."""
        explicit = getattr(self.models, role) or self.models.default
        if explicit:
            return explicit
        for key, model in HOSTED_DEFAULTS:
            if os.environ.get(key):
                return model
        return LOCAL_MODEL


def config_path() -> Path:
    return Path(os.environ.get("AISCI_CONFIG", "aisci.toml"))


def file_sources(settings_cls: type[BaseSettings] = Settings) -> list[tuple[str, PydanticBaseSettingsSource]]:
    """The sources in precedence order, each with the name `config show` reports."""
    toml = config_path()
    return [
        ("env", EnvSettingsSource(settings_cls)),
        (".env", DotEnvSettingsSource(settings_cls)),
        (str(toml), TomlConfigSettingsSource(settings_cls, toml_file=toml)),
    ]


@lru_cache
def get_settings() -> Settings:
    """The effective settings; a bad value is one ConfigError with a bullet per field."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        bullets = "\n".join(f"  - {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(
            f"invalid settings:\n{bullets}", hint="check AISCI_* variables, .env and aisci.toml"
        ) from None


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _display(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    return "" if value is None else str(value)


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(dotted name, value with secrets masked, where it came from) for every setting."""
    provided = [(name, _flatten(source())) for name, source in file_sources()]
    effective = _flatten(
        {name: getattr(settings, name) for name in Settings.model_fields}
        | {
            "models": settings.models.__dict__,
            "llm": settings.llm.__dict__,
            "prefect": settings.prefect.__dict__,
        }
    )
    rows = []
    for key, value in effective.items():
        origin = next((name for name, flat in provided if key in flat), "default")
        if key.startswith("models.") and key != "models.default" and value is None:
            value = settings.model_for(key.split(".")[1])  # type: ignore[arg-type]
            origin = "models.default" if settings.models.default else "auto (from the API keys in env)"
        rows.append((key, _display(value), origin))
    return rows
