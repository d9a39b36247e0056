"""«К сценарию …»: the way back from a page a demo story's step opened to that step's card."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, request, url_for

from cabinet.clock import current_context
from cabinet.demo import runs
from cabinet.demo.stories import BY_KEY


@dataclass(frozen=True)
class WayBack:
    url: str
    label: str


def to_story() -> WayBack | None:
    """From `?story=KEY&step=N` (set by the step that led here), in demo mode only."""
    key = request.args.get("story", "")
    if not current_app.config["DEMO_MODE"] or key not in BY_KEY:
        return None
    step = request.args.get("step", type=int)
    place = f"story-{key}"
    if step is not None and 0 <= step < len(BY_KEY[key].steps):
        place += f"-step-{step}"
    title = runs.title_of(key, current_context())
    return WayBack(url_for("demo.scenarios") + f"#{place}", f"К сценарию «{title}»")
