"""The `aisci` command. Commands import heavy libraries inside their bodies so `--help` stays instant."""

import sys

import typer

from aisci.cli import (
    bench,
    config,
    deploy,
    doctor,
    experiment,
    ideas,
    llm,
    reproduce,
    review,
    run,
    sandbox,
    template,
    write,
)

app = typer.Typer(
    name="aisci",
    help="Automated ML research: ideas, novelty checks, sandboxed experiments, papers and reviews.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def check_settings() -> None:
    """Settings are read before any command, so a broken config is the same one-line error everywhere."""
    from aisci.settings import get_settings

    get_settings()


app.command("run")(run.run)
app.command("ideas")(ideas.ideas)
app.command("experiment")(experiment.experiment)
app.command("write")(write.write)
app.command("review")(review.review)
app.command("reproduce")(reproduce.reproduce)
app.command("deploy")(deploy.deploy)
app.command("up")(deploy.up)
app.command("worker")(deploy.worker)
app.command("doctor")(doctor.doctor)
app.command("llm")(llm.llm)
app.add_typer(template.app, name="template")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(config.app, name="config")
app.add_typer(bench.app, name="bench")


def main() -> None:
    from aisci.errors import AisciError

    try:
        app()
    except AisciError as exc:
        from rich.console import Console

        err = Console(stderr=True)
        err.print(f"[error] {exc.message}", style="red", markup=False, highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(f"        {exc.hint}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(1)
