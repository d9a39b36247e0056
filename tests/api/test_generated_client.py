"""A third party's view: a Python client generated from the served OpenAPI document by
openapi-python-client provisions a client, asks its discount and prices an invoice (through
the WSGI app in-process), and reads every answer into its own typed models."""

from __future__ import annotations

import importlib
import json
import subprocess  # noqa: S404 - the generator's own command, with fixed arguments
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient

PACKAGE = "cabinet_api_client"


@pytest.fixture
def generated(client: FlaskClient, tmp_path: Path) -> Iterator[ModuleType]:
    """The client package, generated anew from the document the app serves."""
    (tmp_path / "doc.json").write_text(json.dumps(client.get("/api/v1/openapi.json").get_json()))
    (tmp_path / "config.json").write_text(json.dumps({"package_name_override": PACKAGE}))
    done = subprocess.run(  # noqa: S603
        [
            str(Path(sys.executable).with_name("openapi-python-client")),
            "generate",
            "--path=doc.json",
            "--config=config.json",
            "--meta=none",
            f"--output-path={PACKAGE}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Unable to" not in done.stdout, done.stdout  # a schema it could not read
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def _module(package: ModuleType, name: str) -> Any:
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_generated_client_provisions_prices_and_reads_typed_answers(
    app: Flask, generated: ModuleType, token: str, worked_example: str
) -> None:
    models = _module(generated, "models")
    api = _module(generated, "api.default")
    caller = generated.AuthenticatedClient(
        base_url="http://cabinet.test/api/v1",
        token=token,
        httpx_args={"transport": httpx.WSGITransport(app=app)},
    )
    put = importlib.import_module(f"{api.__name__}.put_client")
    created = put.sync_detailed(
        client_id=900,
        client=caller,
        body=models.ClientInput(name="ТехСтрой", registered_at="2023-03-20T12:00"),
    )
    assert created.status_code == 201
    assert isinstance(created.parsed, models.Client)
    assert (created.parsed.name, created.parsed.registered_at) == (
        "ТехСтрой",
        datetime.fromisoformat("2023-03-20T12:00:00+03:00"),
    )

    discount = importlib.import_module(f"{api.__name__}.get_discount").sync(
        client_id=400, client=caller, at="2023-04-01T12:00"
    )
    assert isinstance(discount, models.Discount)
    assert (discount.percent, [g.level for g in discount.grants]) == (60, [3])

    line = models.LineInput(
        kind=models.LineInputKind.SERVICE,
        amount=1_000_000,
        period=models.DaysInput.from_dict({"first_day": "2023-04-01", "last_day": "2023-04-30"}),
    )
    invoice = importlib.import_module(f"{api.__name__}.preview_invoice").sync(
        client_id=400, client=caller, body=models.InvoiceRequest(lines=[line])
    )
    assert isinstance(invoice, models.Invoice)
    assert (invoice.totals.discount, invoice.totals.total) == (600_000, 400_000)

    refused = put.sync(
        client_id=901, client=caller, body=models.ClientInput(name="", registered_at="вчера")
    )
    assert isinstance(refused, models.Problem)
    assert [e.pointer for e in refused.errors] == ["/name", "/registered_at"]
