"""`aisci sandbox`: run a command in the experiment sandbox; build the experiment images."""

import json
import warnings
from pathlib import Path
from typing import Annotated

import typer

from aisci.cli.options import gpu_ids

app = typer.Typer(help="Run code in the experiment sandbox and build its images.", no_args_is_help=True)

_UNITS = {"k": 2**-10, "m": 1, "g": 2**10, "t": 2**20}


def _memory_mb(text: str | None) -> int | None:
    if text is None:
        return None
    value = text.strip().lower().removesuffix("b")
    try:
        if value and value[-1] in _UNITS:
            return max(1, int(float(value[:-1]) * _UNITS[value[-1]]))
        return max(1, int(float(value) / 2**20))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a size like 512m or 2g", param_hint="--memory") from None


@app.command(
    "run",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def run(
    ctx: typer.Context,
    code: Annotated[Path, typer.Option("--code", help="Folder with the code; mounted read-only.")],
    out_dir: Annotated[
        str, typer.Option("--out-dir", help="Output folder name inside --code: the only writable place.")
    ],
    backend: Annotated[
        str | None, typer.Option("--backend", help="docker (default from settings) or local (no isolation).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Wall-clock limit in seconds.")] = 7200.0,
    memory: Annotated[str | None, typer.Option("--memory", help="Memory limit, e.g. 2g or 512m.")] = None,
    cpus: Annotated[float | None, typer.Option("--cpus", help="CPU limit in cores.")] = None,
    pids: Annotated[int | None, typer.Option("--pids", help="Process limit.")] = None,
    gpus: Annotated[str | None, typer.Option("--gpus", help="GPU device ids, e.g. 0,1.")] = None,
) -> None:
    """Run CMD (after --) sandboxed; the last line printed is the result as JSON.

    Exits 0 whenever the sandbox worked, whatever the experiment did; 1 when the sandbox itself failed.
    """
    from aisci.sandbox import run_sandboxed
    from aisci.sandbox.local import LocalBackendWarning

    argv = list(ctx.args)
    if not argv:
        raise typer.BadParameter("give the command after --, e.g. -- python experiment.py --out_dir=run_1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LocalBackendWarning)
        result = run_sandboxed(
            code,
            argv,
            Path(out_dir),
            backend=backend,
            timeout_s=timeout,
            memory_mb=_memory_mb(memory),
            cpus=cpus,
            pids=pids,
            gpus=gpu_ids(gpus),
        )
    for warning in caught:
        typer.echo(f"[warning] {warning.message}", err=True)
    print(json.dumps(result.model_dump()))
    if result.status == "error":
        raise typer.Exit(1)


@app.command("build")
def build(
    force: Annotated[
        bool, typer.Option("--force", help="Rebuild even when the recipe is unchanged.")
    ] = False,
    gpu: Annotated[
        bool, typer.Option("--gpu", help="Build the GPU image from docker/experiment.Dockerfile instead.")
    ] = False,
    base: Annotated[
        str | None,
        typer.Option("--base", help="CUDA PyTorch base image for --gpu (default: pinned official)."),
    ] = None,
    tag: Annotated[
        str | None, typer.Option("--tag", help="Image tag (default: settings sandbox_image).")
    ] = None,
) -> None:
    """Build the experiment image; skipped when an image with the same recipe exists."""
    from aisci.sandbox.images import GPU_BASE_DEFAULT, build_cpu_image, build_gpu_image
    from aisci.settings import get_settings

    def log(line: str) -> None:
        typer.echo(f"==> {line}", err=True)

    if gpu:
        report = build_gpu_image(tag or "aisci-experiment:gpu", base or GPU_BASE_DEFAULT, log=log)
    else:
        report = build_cpu_image(tag or get_settings().sandbox_image, force=force, log=log)
    verb = "built" if report.built else "up to date"
    typer.echo(f"{report.image} {verb} ({report.size_mb:.0f} MB, {report.duration_s:.1f} s)")
