"""What the experiment runs and the plots share: the limits, the idea folder with its template and model
gateway, the sandbox call, and code edits; so both steps run code and take edits the same way."""

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from aisci.edits import EditFormatError, apply_edits, parse_edits
from aisci.errors import ConfigError
from aisci.experiment import folder
from aisci.llm import Gateway
from aisci.sandbox import SandboxResult, run_sandboxed
from aisci.settings import Role, Settings
from aisci.templates import load_spec


class Limits(BaseModel):
    max_runs: int = Field(5, ge=1)
    max_attempts: int = Field(4, ge=1)
    timeout_s: float = Field(7200.0, gt=0)
    gpus: list[int] | None = None


class ExperimentStep(BaseModel):
    """The coding model's reply for one attempt."""

    thought: str = Field("", max_length=4000, description="reasoning about the results so far")
    action: Literal["run", "done"] = Field(
        description="run: apply the edits and run; done: experiments finished"
    )
    label: str = Field(
        "", max_length=200, description="a few words (at most 60 characters) naming what this run changes"
    )
    description: str = Field(
        "", max_length=2000, description="what this run changes and tests, for the notes"
    )
    edits: str = Field("", max_length=30000, description="SEARCH/REPLACE blocks")


class ExperimentContext:
    """One idea folder made from a template, with the settings, limits and gateway its steps use."""

    def __init__(
        self, settings: Settings, idea_dir: Path, limits: Limits, gateway: Gateway | None = None
    ) -> None:
        self.settings = settings
        self.idea_dir = idea_dir.resolve()
        self.limits = limits
        self.gateway = gateway or Gateway(settings, run_dir=self.idea_dir)
        if not (self.idea_dir / "experiment.py").is_file():
            raise ConfigError(
                f"{self.idea_dir} has no experiment.py", hint="pass an idea folder made from a template"
            )
        self.spec = load_spec(self.idea_dir)

    def weak(self) -> bool:
        """The coding model cannot be trusted with code edits: the embedded one, or one named in
        `llm.weak_models`."""
        return self.settings.weak("coding")

    def sandbox(self, argv: list[str], out: Path) -> SandboxResult:
        return run_sandboxed(
            self.idea_dir,
            argv,
            out,
            timeout_s=self.limits.timeout_s,
            gpus=self.limits.gpus,
            env={"AISCI_SMOKE": "1"} if self.settings.smoke else {},
        )

    def apply(self, edits: str) -> str | None:
        """None when every block applied; otherwise the message for the model."""
        try:
            blocks = parse_edits(edits)
        except EditFormatError as exc:
            return f"The edits could not be read: {exc}."
        if not blocks and self.spec.parameters:
            return "The reply had no SEARCH/REPLACE blocks and set no parameters; a run must change one."
        if not blocks:
            return "The reply had no SEARCH/REPLACE blocks; a run must change the code."
        result = apply_edits(self.idea_dir, blocks)
        return None if result.ok else result.feedback()

    def results_text(self, runs: list[int], role: Role, beside: int) -> str:
        """Each run's final_info.json, compact, cut to fit `role`'s window beside `beside` characters of other
        prompt text: at about three characters a token, two characters per token of the window leave a third
        of it for the rest of the prompt."""
        budget = max(2000, 2 * self.gateway.context_window(role) - beside)
        text = "\n".join(
            f"run_{r}: {json.dumps(folder.results(self.idea_dir, r), separators=(',', ':'))}" for r in runs
        )
        if len(text) <= budget:
            return text
        return text[:budget] + "\n(cut here; the notes' measured lines summarise every run)"
