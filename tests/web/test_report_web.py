"""«Отчет для финансов» in the panel: the month picker, the figures a person reads, the CSV;
a bad month a clear 400."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from cabinet.auth.services import create_manager
from cabinet.clock import Context
from tests.services.test_finance_report import _may_2023
from tests.web.conftest import PASSWORD, csrf_token, outside_requests

FINANCE = "finance@example.ru"


def _signed_in(app: Flask, client: FlaskClient, context: Context) -> int:
    """Signed in as a manager, May 2023 of tests/services/test_finance_report.py made; the
    version of the terms it published."""
    with outside_requests(app):
        create_manager(FINANCE, PASSWORD, "Финансы", datetime.now(UTC))
        version = _may_2023(context)
    token = csrf_token(client.get("/manage/login").text)
    response = client.post(
        "/manage/login", data={"email": FINANCE, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return version


def test_the_month_by_version_with_roubles_and_discount_months(
    app: Flask, client: FlaskClient, context: Context
) -> None:
    version = _signed_in(app, client, context)
    page = client.get("/manage/report?month=2023-05")
    assert page.status_code == 200
    text = page.text
    assert 'value="2023-05"' in text
    assert 'href="/manage/report.csv?month=2023-05"' in text
    assert f"{version} «Награда после первой оплаты» (условия)" in text
    assert '700,00 ₽ <span class="muted">(2 кл.)</span>' in text
    assert '0,34 <span class="muted">(2 кл.)</span>' in text
    assert "Скидка, ₽ (клиенты с оплатой)" in text
    assert "Скидка, скидко-месяцев (клиенты без оплаты)" in text
    assert 'href="/manage/report"' in text  # in the menu

    empty = client.get("/manage/report?month=2022-01").text
    assert "0,00 ₽" in empty and "Итого" in empty


def test_the_csv_is_the_same_month_for_a_russian_spreadsheet(
    app: Flask, client: FlaskClient, context: Context
) -> None:
    version = _signed_in(app, client, context)
    response = client.get("/manage/report.csv?month=2023-05")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "referral-report-2023-05.csv" in response.headers["Content-Disposition"]
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0][:4] == [
        "месяц",
        "Версия условий",
        "Скидок в силе",
        "Скидка, ₽ (клиенты с оплатой)",
    ]
    assert rows[1] == [
        "2023-05",
        f"{version} «Награда после первой оплаты» (условия)",
        "4",
        "700,00",
        "0,34",
        "1",
        "1",
        "1",
        "0",
        "2",
        "2",
        "0",
    ]
    assert rows[2][1] == "Итого"
    assert len(rows) == 3


def test_a_month_that_is_no_month_is_a_clear_400(
    app: Flask, client: FlaskClient, context: Context
) -> None:
    _signed_in(app, client, context)
    page = client.get("/manage/report?month=2023-13")
    assert page.status_code == 400
    assert "Месяц не понят: укажите год и месяц, например 2026-11." in page.text
    assert 'aria-invalid="true"' in page.text
    refused = client.get("/manage/report.csv?month=май")
    assert refused.status_code == 400
    assert "Месяц не понят" in refused.get_data(as_text=True)


def test_signed_out_the_report_leads_to_the_sign_in(client: FlaskClient) -> None:
    for url in ("/manage/report", "/manage/report.csv?month=2023-05"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/manage/login" in response.headers["Location"]
