"""Each run's effective configuration: setup facts the writer may cite, never typed by the model.

Read from `run_i/config.json` when the template writes one (ours do: the configuration the run actually
used, smoke settings, data sizes and estimator settings included; nested keys are joined with dots, lists
with commas). Otherwise read from the run's code snapshot (`run_i/code/experiment.py`, or `run_i.py`) with
ast: argparse defaults, dataclass field defaults and module-level UPPERCASE constants, the first of each name
winning. Such defaults are what a run uses unless something overrides them at run time; a smoke run (marked in
final_info.json) used other settings, so without a record it gets none.
"""

import ast
import json
import math
import re
from pathlib import Path
from typing import Any

from aisci.errors import FinalInfoError
from aisci.experiment import folder, snapshot
from aisci.sandbox import read_output_file

Value = int | float | str | bool
CONFIG_FILE = "config.json"
MAX_CONFIG_BYTES = 1 << 20
MAX_ENTRIES = 300
MAX_TEXT = 200
CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]*$")
NOT_SETUP = {"out_dir"}


def run_config(idea_dir: Path, run: int) -> dict[str, Value]:
    """The run's configuration as flat name -> value; empty when neither a record nor code is found."""
    out = folder.run_dir(idea_dir, run)
    try:
        data = json.loads(read_output_file(out, CONFIG_FILE, MAX_CONFIG_BYTES))
    except (FinalInfoError, ValueError):
        data = None
    if isinstance(data, dict):
        return dict(list(_flatten(data).items())[:MAX_ENTRIES])
    if is_smoke(idea_dir, run):
        return {}
    for path in (snapshot.code_dir(idea_dir, run) / "experiment.py", idea_dir / f"run_{run}.py"):
        if path.is_file() and not path.is_symlink():
            return code_config(path.read_text(encoding="utf-8", errors="replace"))
    return {}


def is_smoke(idea_dir: Path, run: int) -> bool:
    """The run's final_info.json marks it smoke-size: a re-run must use the smoke settings too."""
    try:
        results = folder.results(idea_dir, run)
    except FinalInfoError:
        return False
    return any(isinstance(e, dict) and e.get("smoke") is True for e in results.values())


def code_config(source: str) -> dict[str, Value]:
    """argparse defaults, dataclass field defaults and UPPERCASE constants found in `source`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found: dict[str, Value] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(_is_dataclass(d) for d in node.decorator_list):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name) and item.value:
                    _put(found, item.target.id, _field_default(item.value))
        elif isinstance(node, ast.Call) and _attr_name(node.func) == "add_argument":
            _put(found, *_argument(node))
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if isinstance(target, ast.Name) and CONSTANT.match(target.id):
            _put(found, target.id, node.value)
    return found


def _put(found: dict[str, Value], name: str | None, node: ast.AST | None) -> None:
    if name is None or node is None or name in found or name in NOT_SETUP:
        return
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return
    if (scalar := _scalar(value)) is not None:
        found[name] = scalar


def _argument(call: ast.Call) -> tuple[str | None, ast.AST | None]:
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    flags = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    dest = keywords.get("dest")
    if isinstance(dest, ast.Constant) and isinstance(dest.value, str):
        name = dest.value
    else:
        longest = max(flags, key=len, default=None)
        name = longest.lstrip("-").replace("-", "_") if longest else None
    return name, keywords.get("default")


def _field_default(value: ast.expr) -> ast.AST | None:
    """`x: int = 3` gives 3; `x: int = field(default=3)` too."""
    if isinstance(value, ast.Call) and _attr_name(value.func) == "field":
        return next((k.value for k in value.keywords if k.arg == "default"), None)
    return value


def _is_dataclass(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return _attr_name(target) == "dataclass"


def _attr_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Value]:
    flat: dict[str, Value] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        elif (scalar := _scalar(value)) is not None:
            flat[name] = scalar
    return flat


def _scalar(value: Any) -> Value | None:
    """A config value as one number, flag or short text; lists of those become comma-separated text."""
    if isinstance(value, bool | str):
        return value[:MAX_TEXT] if isinstance(value, str) else value
    if isinstance(value, int | float):
        return value if math.isfinite(value) else None
    if isinstance(value, list | tuple) and all(isinstance(v, bool | int | float | str) for v in value):
        return ", ".join(str(v) for v in value)[:MAX_TEXT]
    return None
