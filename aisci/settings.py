"""Settings: env vars `AISCI_*` > `.env` > `aisci.toml` > defaults. Built on demand by `get_settings()`.

aisci alone decides where keys come from: `load_env()` reads the working folder's `.env` into the environment
once, before any settings are built (variables already set win), and turns off litellm's own import-time
`.env` search, which would otherwise load whatever `.env` lies above its install folder.
"""

import os
import re
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
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
    weak_models: list[str] = Field(
        [],
        description="small models (the embedded one always): parameter settings instead of code edits, "
        "short one-pass paper sections",
    )


class PrefectOptions(BaseModel):
    api_url: str | None = Field(
        None, description="Prefect server API; unset runs on the embedded ephemeral API"
    )
    work_pool: str | None = Field("gpu", description="work pool of GPU hosts for experiments")
    cpu_pool: str = Field("aisci", description="work pool for sweeps, ideas, writeups and reviews")
    crash_restarts: int = Field(
        2, ge=0, description="times a deployed flow run whose worker died (Crashed) is started again"
    )
    pickup_timeout_s: float = Field(
        1800.0,
        gt=0,
        description="how long an idea waits for a worker of the GPU pool to start its experiments",
    )
    files_url: str | None = Field(
        None,
        description="URL serving the workspace read-only (`aisci up` sets one): artifact links and figures",
    )
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
    model_config = SettingsConfigDict(env_prefix="AISCI_", env_nested_delimiter="__", extra="ignore")

    workspace: Path = Field(Path("workspace"), description="where every run writes its files")
    calibration_dir: Path | None = Field(
        None,
        description="where `aisci bench review` writes each model's decision threshold and reviews read it; "
        "unset: <workspace>/calibration",
    )
    storage_url: str | None = Field(
        None,
        description="fsspec URL that idea folders travel through between hosts; unset: a shared workspace",
    )
    models: RoleModels = RoleModels()
    llm: LLMOptions = LLMOptions()
    budget_usd: float = Field(
        10.0, ge=0, description="cost cap of one run (a whole sweep, all its ideas), in USD; 0 disables it"
    )
    idea_budget_usd: float = Field(0.0, ge=0, description="cost cap of each idea in a sweep, in USD; 0: none")
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
        load_env()
        return (init_settings, *(source for _, source in file_sources(settings_cls)))

    def secret_values(self) -> list[str]:
        """Every credential these settings hold: keys, and passwords inside the URLs."""
        from aisci.llm.transcript import url_password

        keys = [s.get_secret_value() for s in (self.llm.api_key, self.s2_api_key) if s is not None]
        urls = (self.llm.api_base, self.storage_url, self.prefect.api_url)
        return keys + [p for p in map(url_password, filter(None, urls)) if p]

    def weak(self, role: Role) -> bool:
        """The role's model is small (the embedded one, or one in `llm.weak_models`): each stage asks it only
        what it can do; it cannot act on critique or fix requests, and each token costs seconds on a CPU."""
        model = self.model_for(role)
        return model == LOCAL_MODEL or model in self.llm.weak_models

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


ENV_FILE = Path(".env")
_loaded: dict[Path, dict[str, int]] = {}
_load_lock = threading.Lock()


def load_env() -> dict[str, int]:
    """Load the working folder's `.env` into the environment, once per file; variables already set win.

    Returns the names it set, each with its line in the file. Raises ConfigError at a line it cannot parse."""
    os.environ["LITELLM_MODE"] = "PRODUCTION"  # litellm's "DEV" mode calls load_dotenv() on import
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # its price map ships with it: no fetch
    path = ENV_FILE.resolve()
    with _load_lock:
        if path not in _loaded:
            names: dict[str, int] = {}
            if path.is_file():
                lines = _env_lines(path)
                from dotenv import dotenv_values

                for name, value in dotenv_values(path).items():
                    if value is not None and name not in os.environ:
                        os.environ[name] = value
                        names[name] = lines.get(name, 1)
            _loaded[path] = names
        return _loaded[path]


def _env_lines(path: Path) -> dict[str, int]:
    """Each name's line in a `.env` file; ConfigError naming the first line that is not `NAME=value`."""
    from dotenv.parser import parse_stream

    lines: dict[str, int] = {}
    with path.open(encoding="utf-8") as stream:
        for binding in parse_stream(stream):
            text = binding.original.string
            line = binding.original.line + text[: len(text) - len(text.lstrip())].count("\n")
            if binding.error:
                raise ConfigError(
                    f"{path}:{line}:1: cannot parse {text.strip().splitlines()[0]!r}",
                    hint="each line of .env is NAME=value, a value with spaces in matching quotes",
                )
            if binding.key:
                lines[binding.key] = line
    return lines


def file_sources(settings_cls: type[BaseSettings] = Settings) -> list[tuple[str, PydanticBaseSettingsSource]]:
    """The sources in precedence order, each with the name `config show` reports (`.env` is in env)."""
    toml = config_path()
    return [
        ("env", EnvSettingsSource(settings_cls)),
        (str(toml), TomlConfigSettingsSource(settings_cls, toml_file=toml)),
    ]


@lru_cache
def get_settings() -> Settings:
    """The effective settings. Anything wrong is one ConfigError, a line per problem naming where it is."""
    import tomllib

    from pydantic_settings import SettingsError

    try:
        return Settings()
    except tomllib.TOMLDecodeError as exc:
        problem = str(exc)
        found = re.search(r"\(at line (\d+), column (\d+)\)", problem)
        where = f"{config_path()}:{found[1]}:{found[2]}" if found else str(config_path())
        raise ConfigError(
            f"{where}: invalid TOML: {problem[: found.start()].strip() if found else problem}",
            hint="fix the file, or point AISCI_CONFIG at another",
        ) from None
    except SettingsError as exc:
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"AISCI_{field[1].upper()}" if field else "an AISCI_* variable"
        raise ConfigError(
            f"{_origin_of(name)}: {exc.__cause__ or exc}", hint="a list or table value is written as JSON"
        ) from None
    except ValidationError as exc:
        problems = [f"{_locate(e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError(
            problems[0]
            if len(problems) == 1
            else "invalid settings:\n" + "\n".join(f"  - {p}" for p in problems),
            hint="check AISCI_* variables, .env and aisci.toml",
        ) from None


def _origin_of(variable: str) -> str:
    """`path/.env:line:1: NAME` when the variable came from `.env`, else `NAME (environment)`."""
    line = load_env().get(variable)
    return f"{ENV_FILE.resolve()}:{line}:1: {variable}" if line else f"{variable} (environment)"


def _locate(loc: tuple[int | str, ...]) -> str:
    """Where a bad value was set: `file:line:column: name` for files, the variable for the environment."""
    keys = [str(part) for part in loc if isinstance(part, str)]
    dotted = ".".join(map(str, loc))
    for name, source in file_sources():
        flat = _flatten(source())
        if not any(key == ".".join(keys) or key.startswith(".".join(keys) + ".") for key in flat):
            continue
        if name == "env":
            variable = "AISCI_" + "__".join(keys).upper()
            return _origin_of(variable)
        line, column = _toml_position(Path(name), keys)
        return f"{name}:{line}:{column}: {dotted}"
    return dotted


def _toml_position(path: Path, keys: list[str]) -> tuple[int, int]:
    """Line and column of `key =` under its `[table]` header (1, 1 when it cannot be found)."""
    table, key = ".".join(keys[:-1]), keys[-1]
    current = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            current = header[1].strip()
            continue
        found = re.match(rf"\s*({re.escape(key)}|\"{re.escape(key)}\")\s*=", line)
        if found and current == table:
            return number, found.start(1) + 1
    return 1, 1


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
    return "" if value is None else mask_url(str(value))


def mask_url(value: str) -> str:
    """A URL with the credentials in its user part masked: `s3://user:pw@host/x` → `s3://********@host/x`."""
    return _USERINFO.sub(r"\1********@", value)


_USERINFO = re.compile(r"^([a-zA-Z][\w+.-]*://)[^/@\s]+@")


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(dotted name, value with secrets masked, where it came from) for every setting."""
    provided = [(name, _flatten(source())) for name, source in file_sources()]
    from_dotenv = load_env()
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
        if origin == "env" and "AISCI_" + key.replace(".", "__").upper() in from_dotenv:
            origin = ".env"
        if key.startswith("models.") and key != "models.default" and value is None:
            value = settings.model_for(key.split(".")[1])  # type: ignore[arg-type]
            origin = "models.default" if settings.models.default else "auto (from the API keys in env)"
        rows.append((key, _display(value), origin))
    return rows
