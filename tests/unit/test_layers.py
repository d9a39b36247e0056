"""Every top-level module of the cabinet sits in a layer of the import contract (pyproject.toml),
so a new package cannot escape `lint-imports` by being forgotten."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_module_of_the_cabinet_is_in_a_layer() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    listed = {name for layer in contract["layers"] for name in re.findall(r"cabinet\.\w+", layer)}
    modules = {
        f"cabinet.{path.stem}"
        for path in (ROOT / "cabinet").iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists())
    }
    assert modules - listed == set()
    assert listed - modules == set()
