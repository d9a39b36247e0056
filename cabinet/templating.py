"""The cabinet's Jinja templates: an imported module of macros is handed out as it was kept.

`{% import "partials/_forms.html" as forms %}` runs on every render of the block it is in (the
referral page has four such imports). Jinja keeps the imported module, but before handing it
out it works out which globals the importing template has that the imported one lacks: every
global of the page looked up, one by one, in the macros' ChainMap of globals, at each import —
4.6 % of the referral page's instructions (docs/performance.md, «Instructions per request»).
When neither template has globals of its own the answer is «none», and this template gives it
without the lookups; otherwise Jinja works it out as before.
"""

from __future__ import annotations

from collections import ChainMap
from typing import Any

from jinja2 import Environment, Template
from jinja2.runtime import Context


class KeptImports(Template):
    def _get_default_module(self, ctx: Context | None = None) -> Any:
        module = self._module
        if (
            ctx is not None
            and module is not None
            and _only_the_environments(self.globals, self.environment)
            and len(ctx.globals_keys) == len(self.environment.globals)
        ):
            # The importer's globals are its own over the environment's (a ChainMap's keys
            # include every key of the maps under it): as many as the environment's, so none
            # of its own, so nothing the kept module lacks.
            return module
        return super()._get_default_module(ctx)


def _only_the_environments(globals_: Any, environment: Environment) -> bool:
    return (
        isinstance(globals_, ChainMap)
        and len(globals_.maps) == 2
        and not globals_.maps[0]
        and globals_.maps[1] is environment.globals
    )


def use(environment: Environment) -> None:
    """Templates loaded from now on keep their imported modules (call before any is loaded)."""
    environment.template_class = KeptImports
