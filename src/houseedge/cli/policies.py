"""``houseedge policies``: the built-in policies, sizers and cost models, or one class's parameters.

Without an argument it lists every built-in with its parameters; with a reference (a built-in
name, ``package.module:Class`` or ``path/file.py:Class``) it shows that class's parameters with
their types and defaults.
"""

from __future__ import annotations

from typing import Annotated, Any

import polars as pl
import typer

from houseedge.cli._common import out, print_frame

__all__ = ["policies_command", "register"]


def _default(value: Any) -> str:
    from houseedge.app.references import REQUIRED

    return "(required)" if value is REQUIRED else repr(value)


def _kind_of(cls: type[Any]) -> str:
    if hasattr(cls, "target"):
        return "vector"
    return "order" if hasattr(cls, "decide") else ""


def policies_command(
    reference: Annotated[
        str | None,
        typer.Argument(help="a built-in name, package.module:Class or path/file.py:Class"),
    ] = None,
    kind: Annotated[str, typer.Option(help="policy, sizer or cost model")] = "policy",
) -> None:
    """List the built-in policies (sizers, cost models), or show one class's parameters."""
    from houseedge.app.references import builtins, param_specs, resolve
    from houseedge.cli._common import check_choice

    check_choice("--kind", kind, ("policy", "sizer", "cost model"))
    if reference is None:
        out.print(f"[bold]built-in {kind} classes[/bold] (name: parameters)")
        for name, cls in sorted(builtins(kind).items()):  # type: ignore[arg-type]
            shown = ", ".join(
                f"{p.name}: {p.type_name}" + ("" if p.required else f" = {p.default!r}")
                for p in param_specs(cls).values()
            )
            shown = shown or "(no parameters)"
            label = f" ({_kind_of(cls)})" if kind == "policy" else ""
            out.print(f"  {name}{label}: {shown}", highlight=False, soft_wrap=True)
        out.print("[dim]your own: package.module:Class or path/file.py:Class[/dim]")
        return
    cls = resolve(reference, kind)  # type: ignore[arg-type]
    specs = param_specs(cls)
    table = pl.DataFrame(
        {
            "parameter": [p.name for p in specs.values()],
            "type": [p.type_name for p in specs.values()],
            "default": [_default(p.default) for p in specs.values()],
        },
        schema={"parameter": pl.String, "type": pl.String, "default": pl.String},
    )
    print_frame(table, title=f"{reference} ({cls.__module__}.{cls.__qualname__})")


def register(app: typer.Typer) -> None:
    """Add ``policies`` to the command line."""
    app.command("policies")(policies_command)
