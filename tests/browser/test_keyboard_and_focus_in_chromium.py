"""The share flow with the keyboard alone, a focus ring seen on every background, and focus
that stays where the person put it while the page refreshes itself."""

from __future__ import annotations

from typing import Any

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_referral_page_in_chromium import referrer_with_referees, sign_in

# The focused element's ring against what is behind it (WCAG 2.2 1.4.11 / 2.4.13: ≥ 3:1), and
# whether an ancestor that clips its overflow cuts the ring off.
FOCUS_RING = """el => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); })
    .reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05); };
  const style = getComputedStyle(el);
  const offset = parseFloat(style.outlineOffset);
  let node = offset < 0 ? el : el.parentElement, behind = [255, 255, 255];
  while (node) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    if (c.length === 3 || c[3] > 0) { behind = c.slice(0, 3); break; }
    node = node.parentElement;
  }
  const shadow = style.boxShadow.match(/rgba?\\([^)]+\\)/);
  const best = Math.max(
    style.outlineStyle === "none" ? 0 : contrast(rgb(style.outlineColor).slice(0, 3), behind),
    shadow ? contrast(rgb(shadow[0]).slice(0, 3), behind) : 0);
  const reach = Math.max(0, offset + parseFloat(style.outlineWidth));
  const box = el.getBoundingClientRect();
  let clipped = false;
  for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
    const s = getComputedStyle(up);
    if (s.overflowX === "visible" && s.overflowY === "visible") { continue; }
    const r = up.getBoundingClientRect();
    if (box.left - reach < r.left - 0.5 || box.right + reach > r.right + 0.5 ||
        box.top - reach < r.top - 0.5 || box.bottom + reach > r.bottom + 0.5) { clipped = true; }
  }
  const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " «" +
    (el.textContent || el.getAttribute("aria-label") || "").trim().slice(0, 30) + "»";
  return {name, contrast: best, clipped};
}"""


def walk_focus(page: Page, presses: int = 40) -> list[str]:
    """Tab through the page; what is wrong with each focused element's ring."""
    problems = []
    seen: set[str] = set()
    for _ in range(presses):
        page.keyboard.press("Tab")
        ring: dict[str, Any] = page.evaluate(f"({FOCUS_RING})(document.activeElement)")
        if ring["name"] in seen or ring["name"].startswith("body"):
            continue  # seen already, or focus has left the page for the browser's own controls
        seen.add(ring["name"])
        if ring["contrast"] < 3:
            problems.append(f"{ring['name']}: ring {ring['contrast']:.2f}:1")
        if ring["clipped"]:
            problems.append(f"{ring['name']}: ring cut off")
    return problems


def test_a_focus_ring_seen_on_every_background(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app)
    for viewport in ({"width": 1280, "height": 900}, {"width": 375, "height": 812}):
        page = new_page(viewport)
        sign_in(page, email)
        page.locator("body").focus()
        problems = walk_focus(page)
        with page.expect_response(lambda r: "/referral/invite" in r.url):
            page.get_by_role("button", name="Пригласить").click()
        expect(page.get_by_role("dialog")).to_be_visible()
        problems += walk_focus(page, presses=10)
        assert not problems, f"at {viewport['width']} px: {problems}"


def test_the_share_flow_by_keyboard_only(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app, referees=0)
    page = new_page()
    sign_in(page, email)
    invite = page.get_by_role("button", name="Пригласить")
    page.locator("body").focus()
    for _ in range(40):  # Tab to «Пригласить», as a person would
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim() === 'Пригласить'"):
            break
    expect(invite).to_be_focused()

    with page.expect_response(lambda r: "/referral/invite" in r.url):
        page.keyboard.press("Space")  # a button: Space opens the dialog, it does not scroll
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    expect(dialog).to_be_visible()
    phone = dialog.get_by_label("Номер телефона получателя")
    expect(phone).to_be_focused()

    with page.expect_response(lambda r: r.request.method == "POST"):
        page.keyboard.press("Enter")  # nothing filled in: every error at once
    expect(dialog.locator("[aria-invalid=true]")).to_have_count(2)
    summary = dialog.get_by_role("alert").filter(has_text="Заполните поле.")
    expect(summary).to_contain_text("Подтвердите, что друг согласен")
    phone = dialog.get_by_label("Номер телефона получателя")
    expect(phone).to_be_focused()  # the first field with an error
    expect(phone).to_have_attribute("aria-describedby", "recipient-error")
    consent = dialog.get_by_label("Друг согласен получить сообщение с приглашением")
    expect(consent).to_have_attribute("aria-describedby", "consent-error")
    # The form the errors came with is htmx's once the swap has settled: Enter pressed before
    # that (a loaded CI machine types faster than a starved browser settles) posts it natively.
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)

    page.keyboard.type("8 910 123 45 67")
    page.keyboard.press("Tab")
    expect(consent).to_be_focused()
    page.keyboard.press("Space")
    expect(consent).to_be_checked()
    page.keyboard.press("Tab")
    expect(dialog.get_by_role("button", name="Пригласить")).to_be_focused()
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.keyboard.press("Enter")
    # The outcome inside the dialog, focus on «Готово»; Enter closes it.
    outcome = dialog.locator("#share-status")
    expect(outcome).to_have_text("Приглашение отправлено на +7 910 123-45-67")
    expect(dialog.get_by_role("button", name="Готово")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("dialog")).to_have_count(0)
    expect(invite).to_be_focused()  # back where the person started

    with page.expect_response(lambda r: "/referral/invite" in r.url):
        page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Поделиться кодом")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    expect(invite).to_be_focused()


def test_the_refreshing_tab_leaves_focus_in_the_panel(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app, referees=0)
    page = new_page()
    sign_in(page, email)
    with page.expect_response(lambda r: "/referral/invite" in r.url):
        page.get_by_role("button", name="Пригласить").click()
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    dialog.get_by_label("Номер телефона получателя").fill("+7 910 123-45-67")
    dialog.get_by_label("Друг согласен получить сообщение с приглашением").check()
    with page.expect_response(lambda r: r.request.method == "POST"):
        dialog.get_by_role("button", name="Пригласить").click()
    dialog.get_by_role("button", name="Готово").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.locator("#tab-panel")).to_contain_text("в очереди")  # it refreshes every 3 s

    page.get_by_role("tab", name="Приглашения").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#tab-panel")).to_be_focused()
    # The next refresh, to its end; then focus must still be in the panel.
    page.evaluate(
        """() => new Promise(done => document.body.addEventListener(
             "htmx:afterSettle", event => { if (event.detail.elt.id === "tabs") { done(); } }))"""
    )
    assert page.evaluate("document.activeElement.id") == "tab-panel"
