"""Click parameter types shared by the operator CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click
from flask import current_app
from flask.cli import ScriptInfo

from cabinet.moments import parse_moment


class Moment(click.ParamType[datetime]):
    """`WHEN`: ISO 8601; without an offset it is in CABINET_TIMEZONE."""

    name = "WHEN"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        # Options are parsed before the command enters the app context: ask Flask's ScriptInfo.
        app = ctx.ensure_object(ScriptInfo).load_app() if ctx is not None else current_app
        try:
            return parse_moment(str(value), app.extensions["context"].timezone)
        except ValueError:
            self.fail(
                f"«{value}» — не момент ISO 8601 (например, 2023-03-30T15:47 или "
                "2023-03-30T15:47:00+03:00)",
                param,
                ctx,
            )


MOMENT = Moment()


def refuse(message: str) -> None:
    """A refused action: one plain Russian line on stderr, exit status 1."""
    click.echo(message, err=True)
    raise SystemExit(1)
