"""Preflight checks: what a run needs, checked before it spends anything.

`aisci doctor` prints them all; every command and flow that can spend calls `preflight(settings, stage)`,
which checks what that stage needs, so a missing LaTeX or model key is found before the first paid call,
not after the experiments.
"""

import shutil
import sys
import tempfile
from typing import Literal

from pydantic import BaseModel

from aisci.errors import AisciError, ConfigError, SandboxError
from aisci.settings import ROLES, Role, Settings

DEFAULT_IMAGE = Settings.model_fields["sandbox_image"].default

S2_PROBE = "https://api.semanticscholar.org/graph/v1/paper/search?query=diffusion&limit=1&fields=title"
MIN_PYTHON = (3, 11)
MIN_FREE_GB = 2.0
LOW_FREE_GB = 10.0

# Command → Debian package that provides it.
LATEX_TOOLS = {
    "pdflatex": "texlive-latex-base",
    "bibtex": "texlive-binaries",
    "chktex": "chktex",
    "latexmk": "latexmk",
    "pdftotext": "poppler-utils",
}


class Check(BaseModel):
    name: str
    status: Literal["ok", "warn", "fail"]
    detail: str
    fix: str | None = None


class Needs(BaseModel):
    """What one stage uses, so its preflight checks that and no more."""

    roles: tuple[Role, ...] = ROLES
    tools: tuple[str, ...] = tuple(LATEX_TOOLS)
    sandbox: bool = True
    literature: bool = True
    call_models: bool = False  # a tiny call per model; else only what can fail before a call is sent


Stage = Literal["ideas", "experiment", "write", "review", "idea", "sweep"]
STAGES: dict[str, Needs] = {
    "ideas": Needs(roles=("ideation",), tools=(), sandbox=False),
    "experiment": Needs(roles=("coding",), tools=(), literature=False),
    "write": Needs(roles=("writing",), sandbox=False),
    "review": Needs(roles=("review",), tools=("pdftotext",), sandbox=False, literature=False),
    "idea": Needs(),
    "sweep": Needs(call_models=True),
}
_passed: dict[tuple[str, str], list[Check]] = {}  # (stage, settings) → checks this process already passed


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info >= MIN_PYTHON:
        return Check(name="python", status="ok", detail=version)
    return Check(name="python", status="fail", detail=version, fix="use Python 3.11 or newer")


def check_tools(tools: tuple[str, ...] = tuple(LATEX_TOOLS)) -> list[Check]:
    checks = []
    for tool in tools:
        package = LATEX_TOOLS[tool]
        path = shutil.which(tool)
        if path:
            checks.append(Check(name=tool, status="ok", detail=path))
        else:
            fix = f"apt-get install {package} (scripts/setup.sh installs it)"
            checks.append(Check(name=tool, status="fail", detail="not found on PATH", fix=fix))
    return checks


def check_sandbox(settings: Settings) -> Check:
    if settings.sandbox_backend == "local":
        return Check(
            name="sandbox",
            status="warn",
            detail="local backend: experiment code runs on this host without isolation",
            fix="use AISCI_SANDBOX_BACKEND=docker",
        )
    from aisci.sandbox.images import cpu_recipe_hash, docker_client, recipe_of

    try:
        client = docker_client()
    except SandboxError as exc:
        return Check(name="sandbox", status="fail", detail=exc.message, fix=exc.hint)
    try:
        recipe = recipe_of(client, settings.sandbox_image)
    finally:
        client.close()
    image = settings.sandbox_image
    if recipe is None:
        return Check(
            name="sandbox", status="fail", detail=f"image {image} not built", fix="aisci sandbox build"
        )
    if image == DEFAULT_IMAGE and recipe != cpu_recipe_hash():
        return Check(
            name="sandbox", status="warn", detail=f"{image} is out of date", fix="aisci sandbox build"
        )
    return Check(name="sandbox", status="ok", detail=f"{image} (recipe {recipe})")


def check_models(settings: Settings, roles: tuple[Role, ...] = ROLES, call: bool = True) -> list[Check]:
    """One tiny call per distinct model the roles use; without `call`, the provider and its key only."""
    from aisci.llm import Gateway

    gateway = Gateway(settings, run_dir=None, budget_usd=0)
    checks = []
    for model in dict.fromkeys(settings.model_for(role) for role in roles):
        role = next(r for r in roles if settings.model_for(r) == model)
        users = ", ".join(r for r in ROLES if settings.model_for(r) == model)
        name = f"model {model}"
        try:
            if not call:
                gateway.check_ready(role)
                checks.append(Check(name=name, status="ok", detail=f"{users}: provider known, key set"))
                continue
            reply = gateway.complete(role, [{"role": "user", "content": "Reply with: OK"}], max_tokens=3)
        except AisciError as exc:
            checks.append(Check(name=name, status="fail", detail=exc.message, fix=exc.hint))
            continue
        checks.append(Check(name=name, status="ok", detail=f"{users}: answered in {reply.latency_s:.1f}s"))
    return checks


def check_semantic_scholar(settings: Settings) -> Check:
    import httpx

    headers = {"x-api-key": settings.s2_api_key.get_secret_value()} if settings.s2_api_key else {}
    try:
        response = httpx.get(S2_PROBE, headers=headers, timeout=5)
    except httpx.HTTPError as exc:
        return Check(
            name="semantic scholar",
            status="warn",
            detail=f"unreachable ({type(exc).__name__}): novelty verdicts will be 'unknown'",
            fix="check the network or proxy",
        )
    if response.status_code in (401, 403):
        return Check(
            name="semantic scholar", status="warn", detail="API key refused", fix="check AISCI_S2_API_KEY"
        )
    status = "ok" if response.status_code < 400 else "warn"
    return Check(name="semantic scholar", status=status, detail=f"HTTP {response.status_code}")


def check_workspace(settings: Settings) -> list[Check]:
    workspace = settings.workspace.expanduser().resolve()
    try:
        workspace.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=workspace):
            pass
    except OSError as exc:
        writable = Check(
            name="workspace",
            status="fail",
            detail=f"{workspace} is not writable: {exc.strerror}",
            fix="choose another with --workspace or AISCI_WORKSPACE",
        )
        return [writable]
    free_gb = shutil.disk_usage(workspace).free / 1e9
    if free_gb < MIN_FREE_GB:
        disk_status = "fail"
    elif free_gb < LOW_FREE_GB:
        disk_status = "warn"
    else:
        disk_status = "ok"
    return [
        Check(name="workspace", status="ok", detail=str(workspace)),
        Check(
            name="free disk",
            status=disk_status,
            detail=f"{free_gb:.1f} GB free",
            fix=None if disk_status == "ok" else f"free space: runs need {LOW_FREE_GB:.0f} GB",
        ),
    ]


def run_checks(settings: Settings, models: bool = True, needs: Needs | None = None) -> list[Check]:
    needs = needs or Needs(call_models=True)
    checks = [check_python(), *check_tools(needs.tools)]
    if needs.sandbox:
        checks.append(check_sandbox(settings))
    if models:
        checks += check_models(settings, needs.roles, call=needs.call_models)
    if needs.literature:
        checks.append(check_semantic_scholar(settings))
    checks += check_workspace(settings)
    return checks


def preflight(settings: Settings, stage: Stage = "sweep") -> list[Check]:
    """What `stage` needs, checked before it spends; raises ConfigError listing what is missing.

    Checks that passed are not repeated in this process: a sweep's ideas, and their stages, do not ping
    every model again."""
    fingerprint = settings.model_dump_json()
    done = _passed.get((stage, fingerprint)) or _passed.get(("sweep", fingerprint))
    if done is not None:
        return done
    checks = run_checks(settings, needs=STAGES[stage])
    failed = [c for c in checks if c.status == "fail"]
    if failed:
        lines = "\n".join(f"  - {c.name}: {c.detail}" + (f" (fix: {c.fix})" if c.fix else "") for c in failed)
        raise ConfigError(f"the {stage} cannot start:\n{lines}", hint="`aisci doctor` shows every check")
    _passed[(stage, fingerprint)] = checks
    return checks
