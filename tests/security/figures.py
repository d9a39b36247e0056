"""Figures the attack and fault tests record for docs/reliability.md (`make reliability`):
written as JSON to TEST_OUTPUT_DIR when the run ends."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tests.conftest import output_dir

FIGURES: dict[str, Any] = {
    "attack": {"requests": 0, "server_errors": 0, "statuses": Counter(), "fields": {}},
    "matrix": {"requests": 0, "server_errors": 0, "cells": 0},
    "fuzz": {"requests": 0, "server_errors": 0},
    "faults": {},
}


def count_attack(target: str, status: int) -> None:
    attack = FIGURES["attack"]
    attack["requests"] += 1
    attack["server_errors"] += status >= 500
    attack["statuses"][str(status)] += 1
    attack["fields"][target] = attack["fields"].get(target, 0) + 1


def record_fault(name: str, **values: Any) -> None:
    FIGURES["faults"][name] = values


def write(database: str) -> None:
    """Merged into what earlier runs on this database recorded: a run of some of the tests
    replaces only the figures it made."""
    path = output_dir() / f"reliability-{database}.json"
    merged: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    for part in ("attack", "matrix", "fuzz"):
        if FIGURES[part]["requests"] or part not in merged:
            merged[part] = FIGURES[part]
    merged["faults"] = {**merged.get("faults", {}), **FIGURES["faults"]}
    path.write_text(json.dumps(merged, ensure_ascii=False, indent=1, default=dict))
