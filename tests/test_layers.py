"""Imports run one way, `aisci.cli → flows → tasks → aisci`: a module never imports from a layer above its
own, at the top or inside a function, and the core library never imports Prefect or the CLI's typer."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = {"aisci": 0, "tasks": 1, "flows": 2, "aisci.cli": 3}
CORE_FORBIDDEN = ("prefect", "typer")


def layer(module: str) -> int | None:
    """The layer of a dotted module name, or None for a third-party or standard module."""
    if module in ("aisci.cli", "aisci.__main__") or module.startswith("aisci.cli."):
        return LAYERS["aisci.cli"]
    return LAYERS.get(module.split(".")[0])


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def modules() -> list[Path]:
    return sorted(p for top in ("aisci", "tasks", "flows") for p in (REPO / top).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_imports_from_a_layer_above_its_own(path: Path):
    dotted = ".".join(path.relative_to(REPO).with_suffix("").parts)
    own = layer(dotted)
    upward = [f"line {line}: {name}" for line, name in imports(path) if (layer(name) or 0) > own]
    assert not upward, f"{dotted} imports from a layer above it: {upward}"
    if own == 0:
        core = [
            f"line {line}: {name}" for line, name in imports(path) if name.split(".")[0] in CORE_FORBIDDEN
        ]
        assert not core, f"{dotted} is core library code but imports {core}"


def test_the_check_sees_an_upward_import(tmp_path: Path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from flows.stages import review_stage\n")
    assert [layer(name) for _, name in imports(module)] == [LAYERS["flows"]]
