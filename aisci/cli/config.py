"""`aisci config`: inspect the effective settings."""

import typer

app = typer.Typer(help="Inspect settings.", no_args_is_help=True)


@app.command("show")
def show() -> None:
    """Print every setting, its effective value (secrets masked) and where it came from."""
    from rich.console import Console
    from rich.table import Table

    from aisci.settings import describe, get_settings

    table = Table("setting", "value", "source")
    for key, value, origin in describe(get_settings()):
        table.add_row(key, value, origin)
    Console().print(table)
