"""Research templates: finding them, checking the AI Scientist v1 contract, describing them.

A template is a folder with `experiment.py` (run as `python experiment.py --out_dir=run_i`, writes
`run_i/final_info.json`), `plot.py`, `prompt.json`, `seed_ideas.json` and `latex/template.tex`. `check`
reports every contract problem as one line that names the file, so a community template is fixed in one pass.
"""

import ast
import json
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from aisci.errors import TemplateError
from aisci.numbers import fmt

REQUIRED_FILES = ("experiment.py", "plot.py", "prompt.json", "seed_ideas.json", "latex/template.tex")
SPEC_FILE = "template.json"  # optional, aisci's own: what v1 templates leave to guesswork
UNREACHED_KEY = "unreached"  # a group's list of metrics that were not reached or not measured in a run
IDEA_KEYS = ("Name", "Title", "Experiment")
# module-level names our templates (and many community ones) use to list their datasets or tasks
DATASET_NAMES = ("DATASETS", "DATASET", "TASKS", "TASK")
SMOKE_ENV = "AISCI_SMOKE"


class MetricSpec(BaseModel):
    """What a template says about one metric, so no reader guesses it from the name."""

    direction: Literal["lower", "higher"] | None = None  # which way is better; None: neither
    primary: bool = False  # shown in the main results table and summarised in the notes
    timing: bool = False  # wall-clock measurements: compared loosely, never a finding
    # how far a re-run may land from the original (absolute), for a metric reported without stderr
    tolerance: float | None = Field(None, ge=0)
    label: str = Field("", max_length=60)  # a short column name for tables
    description: str = Field("", max_length=300)  # one line of meaning, for the writer


ParamValue = bool | int | float | str


class ParameterSpec(BaseModel):
    """One setting `experiment.py --params FILE` accepts, so a run can change it without editing code."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["int", "float", "str", "bool"]
    default: ParamValue
    min: float | None = None  # inclusive bounds, for int and float
    max: float | None = None
    choices: list[str] | None = None  # the allowed values of a str parameter
    description: str = Field("", max_length=300)  # one line of meaning, for the models and the writer

    @model_validator(mode="after")
    def _consistent(self) -> "ParameterSpec":
        numeric = self.type in ("int", "float")
        if not numeric and (self.min is not None or self.max is not None):
            raise ValueError(f"min and max apply to int and float parameters, not {self.type}")
        if numeric and (self.min is None or self.max is None or self.min > self.max):
            raise ValueError("an int or float parameter needs min <= max")
        if self.type == "str" and not self.choices:
            raise ValueError("a str parameter needs choices")
        if self.type != "str" and self.choices is not None:
            raise ValueError("choices apply to str parameters only")
        if problem := self.problem(self.default):
            raise ValueError(f"the default {self.default!r} {problem}")
        return self

    def problem(self, value: Any) -> str | None:
        """Why `value` is not allowed, or None."""
        if self.type == "bool":
            return None if isinstance(value, bool) else "is not true or false"
        if self.type == "str":
            return None if value in (self.choices or []) else f"is not one of {', '.join(self.choices or [])}"
        if not _is_number(value) or (self.type == "int" and not float(value).is_integer()):
            return f"is not {'an integer' if self.type == 'int' else 'a number'}"
        assert self.min is not None and self.max is not None
        return None if self.min <= value <= self.max else f"is outside [{fmt(self.min)}, {fmt(self.max)}]"

    def json_schema(self) -> dict[str, Any]:
        """The value's JSON schema: a model under a grammar then writes only allowed values (llama.cpp's
        grammar does not bound a number: `local.reply_schema` makes it a choice of values)."""
        if self.type == "str":
            return {"type": "string", "enum": list(self.choices or [])}
        if self.type == "bool":
            return {"type": "boolean"}
        kind = "integer" if self.type == "int" else "number"
        return {"type": kind, "minimum": self.min, "maximum": self.max}

    def summary(self) -> str:
        """`float in [1e-05, 0.01], default 0.001: the learning rate` for prompts."""
        if self.type == "str":
            allowed = f"one of {', '.join(self.choices or [])}"
        elif self.type == "bool":
            allowed = "true or false"
        else:
            allowed = f"{self.type} in [{fmt(self.min or 0)}, {fmt(self.max or 0)}]"
        default = fmt(self.default) if _is_number(self.default) else json.dumps(self.default)
        return f"{allowed}, default {default}" + (f": {self.description}" if self.description else "")


class TemplateSpec(BaseModel):
    """`template.json`: declared facts about a template's results, paper and parameters; all optional."""

    model_config = ConfigDict(extra="forbid")

    page_limit: int | None = Field(8, ge=1)  # main-text pages, before the references and appendix
    metrics: dict[str, MetricSpec] = {}
    parameters: dict[str, ParameterSpec] = {}

    def metric(self, name: str) -> MetricSpec:
        return self.metrics.get(name, MetricSpec())

    def parameter_problems(self, values: dict[str, Any]) -> list[str]:
        """One line per setting that is undeclared or out of its declared range."""
        problems = []
        for name, value in values.items():
            spec = self.parameters.get(name)
            if spec is None:
                problems.append(f'"{name}" is not a declared parameter')
            elif problem := spec.problem(value):
                problems.append(f'"{name}": {value!r} {problem}')
        return problems


def parameters_text(spec: TemplateSpec) -> str:
    """The declared parameters, one line each, for the models."""
    return "\n".join(f"- {name}: {p.summary()}" for name, p in spec.parameters.items())


def settings_label(values: dict[str, Any]) -> str:
    """`lr=0.001, train_steps=500`: a parameter run named by what it changed."""
    return ", ".join(f"{k}={fmt(v) if _is_number(v) else v}" for k, v in values.items())


def load_spec(folder: Path) -> TemplateSpec:
    """The template's (or idea copy's) template.json; the defaults when it has none.

    A malformed file is a TemplateError naming the file and the problem."""
    path = Path(folder) / SPEC_FILE
    if not path.is_file():
        return TemplateSpec()
    try:
        return TemplateSpec.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot be read ({exc})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise TemplateError(
            f"{path}: {where}: {first['msg']}", hint="see templates/README.md for the fields of template.json"
        ) from exc


class TemplateInfo(BaseModel):
    """What `aisci template list` shows about one template."""

    name: str
    path: Path
    description: str
    datasets: list[str]
    problems: int
    baseline: str  # "yes", "smoke" (only a smoke baseline), "in template" (ships run_0) or "no"


def templates_dirs() -> list[Path]:
    """Where named templates are looked up: ./templates, then the templates/ folder of this source tree."""
    candidates = [Path.cwd() / "templates", Path(__file__).resolve().parents[1] / "templates"]
    unique: list[Path] = []
    for folder in candidates:
        if folder.is_dir() and folder.resolve() not in [u.resolve() for u in unique]:
            unique.append(folder)
    return unique


def available() -> dict[str, Path]:
    """Every template folder found by name, the first one winning when two share a name."""
    found: dict[str, Path] = {}
    for root in templates_dirs():
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and (p / "experiment.py").exists()):
            found.setdefault(folder.name, folder)
    return found


def resolve(name_or_dir: str | Path) -> Path:
    """A template folder from a path or a name; a path is taken as it is, complete or not."""
    path = Path(name_or_dir).expanduser()
    if path.is_dir():
        return path.resolve()
    known = available()
    if str(name_or_dir) in known:
        return known[str(name_or_dir)].resolve()
    listing = ", ".join(known) or "none found"
    raise TemplateError(
        f"no template folder or name {str(name_or_dir)!r}",
        hint=f"known templates: {listing}; or pass a folder path",
    )


# -----------------------------------------------------------------------------
# the contract check


def _load_json(path: Path, rel: str, problems: list[str]) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{rel}: cannot be read ({exc})")
    except json.JSONDecodeError as exc:
        problems.append(f"{rel}: invalid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def final_info_problems(data: Any, rel: str = "final_info.json") -> list[str]:
    """Problems of parsed final_info.json data: `{group: {"means": {metric: number}, "stderrs"?: {...}}}`."""
    if not isinstance(data, dict) or not data:
        return [f'{rel}: must be a non-empty object {{group: {{"means": {{metric: number}}}}}}']
    problems = []
    for group, entry in data.items():
        if not isinstance(entry, dict) or "means" not in entry:
            problems.append(f'{rel}: group "{group}" has no "means"')
            continue
        for key in ("means", "stderrs"):
            values = entry.get(key)
            if key not in entry:
                continue
            if not isinstance(values, dict):
                problems.append(f'{rel}: group "{group}": "{key}" must be an object of metric -> number')
                continue
            for metric, value in values.items():
                if not _is_number(value):
                    problems.append(f'{rel}: group "{group}": {key} "{metric}" is not a number ({value!r})')
                elif not math.isfinite(value):
                    problems.append(f'{rel}: group "{group}": {key} "{metric}" is not finite ({value})')
        if "smoke" in entry and not isinstance(entry["smoke"], bool):
            problems.append(f'{rel}: group "{group}": "smoke" must be true or false')
        unreached = entry.get(UNREACHED_KEY, [])
        if not isinstance(unreached, list) or not all(isinstance(m, str) for m in unreached):
            problems.append(f'{rel}: group "{group}": "{UNREACHED_KEY}" must be a list of metric names')
    return problems


def _python_problems(path: Path, rel: str) -> tuple[list[str], ast.Module | None]:
    try:
        source = path.read_text(encoding="utf-8")
        return [], ast.parse(source, filename=rel)
    except (OSError, UnicodeDecodeError) as exc:
        return [f"{rel}: cannot be read ({exc})"], None
    except SyntaxError as exc:
        return [f"{rel}: syntax error at line {exc.lineno}: {exc.msg}"], None


OUT_DIR = re.compile(r"^--out[_-]dir(=.*)?$")
PARAMS = re.compile(r"^--params(=.*)?$")
DEFINERS = {"add_argument", "option", "startswith"}  # argparse, click, hand-rolled sys.argv parsing


def _defines(tree: ast.Module, option: re.Pattern) -> bool:
    """True when the module defines the option: passes it to argparse's `add_argument`, click's `option`, or
    compares command-line words with it. A mention in a docstring or message does not count."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in DEFINERS and any(_is_option(a, option) for a in node.args):
                return True
        elif isinstance(node, ast.Compare) and any(_is_option(n, option) for n in _operands(node)):
            return True
    return False


def _operands(node: ast.Compare) -> list[ast.expr]:
    return [node.left, *node.comparators]


def _is_option(node: ast.AST, option: re.Pattern) -> bool:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_is_option(e, option) for e in node.elts)
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(option.match(node.value))


def _accepts(folder: Path, experiment: ast.Module, option: re.Pattern) -> bool:
    """experiment.py or a module beside it (v1's tensorf parses its options in opt.py) defines the option."""
    if _defines(experiment, option):
        return True
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if rel.as_posix() == "experiment.py" or any(part.startswith((".", "run_")) for part in rel.parts):
            continue
        tree = _python_problems(path, rel.as_posix())[1]
        if tree is not None and _defines(tree, option):
            return True
    return False


def check(folder: Path) -> list[str]:
    """Every contract problem of the template in `folder`, one line each naming the file; empty if valid."""
    folder = Path(folder)
    if not folder.is_dir():
        return [f"{folder}: not a folder"]
    problems = [f"{rel}: missing file" for rel in REQUIRED_FILES if not (folder / rel).is_file()]

    tree = None
    if (folder / "experiment.py").is_file():
        found, tree = _python_problems(folder / "experiment.py", "experiment.py")
        problems += found
        if tree is not None and not _accepts(folder, tree, OUT_DIR):
            problems.append(
                "experiment.py: takes no --out_dir option (it is run as experiment.py --out_dir=run_i)"
            )
    if (folder / "plot.py").is_file():
        problems += _python_problems(folder / "plot.py", "plot.py")[0]

    if (folder / "prompt.json").is_file():
        prompt = _load_json(folder / "prompt.json", "prompt.json", problems)
        if prompt is not None:
            if not isinstance(prompt, dict):
                problems.append('prompt.json: must be an object with "system" and "task_description"')
            else:
                for key in ("system", "task_description"):
                    if not isinstance(prompt.get(key), str) or not prompt[key].strip():
                        problems.append(f'prompt.json: "{key}" is missing or not a non-empty string')

    if (folder / "seed_ideas.json").is_file():
        ideas = _load_json(folder / "seed_ideas.json", "seed_ideas.json", problems)
        if ideas is not None:
            if not isinstance(ideas, list) or not ideas:
                problems.append("seed_ideas.json: must be a non-empty list of ideas")
            else:
                for i, idea in enumerate(ideas):
                    missing = [
                        k for k in IDEA_KEYS if not isinstance(idea, dict) or not isinstance(idea.get(k), str)
                    ]
                    if missing:
                        problems.append(f"seed_ideas.json: idea {i} lacks {', '.join(missing)}")

    spec = None
    if (folder / SPEC_FILE).is_file():
        try:
            spec = load_spec(folder)
        except TemplateError as exc:
            problems.append(f"{SPEC_FILE}: {exc.message.split(': ', 1)[1]}")
    if spec is not None and spec.parameters and tree is not None and not _accepts(folder, tree, PARAMS):
        problems.append(
            f"experiment.py: takes no --params option, though {SPEC_FILE} declares parameters"
            " (a run sets them as experiment.py --out_dir=run_i --params=params.json)"
        )

    for info in sorted(folder.glob("run_*/final_info.json")):
        rel = info.relative_to(folder).as_posix()
        data = _load_json(info, rel, problems)
        if data is None:
            continue
        found = final_info_problems(data, rel)
        problems += found
        if spec is not None and not found:
            problems += _undeclared_problems(spec, data, rel)
    return problems


def _undeclared_problems(spec: TemplateSpec, data: dict, rel: str) -> list[str]:
    """template.json metrics that a shipped run never reports: a misspelt name would go unused, unnoticed."""
    reported = {m for entry in data.values() for m in [*entry["means"], *entry.get(UNREACHED_KEY, [])]}
    return [f'{SPEC_FILE}: metric "{m}" is in no group of {rel}' for m in spec.metrics if m not in reported]


# -----------------------------------------------------------------------------
# description for `template list`


def description(folder: Path, width: int = 80) -> str:
    """The start of prompt.json's task description, without the v1 "You are given ..." preamble."""
    try:
        text = json.loads((folder / "prompt.json").read_text(encoding="utf-8"))["task_description"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    text = re.sub(r"^You are given the following file to work with, which\s+", "", " ".join(text.split()))
    sentence = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    sentence = sentence[:1].upper() + sentence[1:]
    if len(sentence) <= width:
        return sentence
    return sentence[: width - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def datasets(folder: Path, final_info: dict | None = None) -> list[str]:
    """Result groups: from a run's final_info.json when there is one, else from a literal in experiment.py."""
    if final_info:
        return list(final_info)
    try:
        tree = ast.parse((folder / "experiment.py").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):
        return []
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id in DATASET_NAMES for t in node.targets
        ):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                continue
            return [value] if isinstance(value, str) else [str(v) for v in value]
    return []
