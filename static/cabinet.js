// The cabinet's own behaviour: copying the code, keyboard tabs. Everything works without it.
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Fallback for pages served over plain http or older browsers.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "visually-hidden";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    copyText(button.getAttribute("data-copy")).then(function () {
      if (status) { status.textContent = "Скопировано"; }
      button.classList.add("button--done");
      window.setTimeout(function () {
        if (status) { status.textContent = ""; }
        button.classList.remove("button--done");
      }, 4000);
    }, function () {
      if (status) { status.textContent = "Не удалось скопировать: выделите код и скопируйте его вручную."; }
    });
  });

  // «Поделиться…»: the phone's share sheet (Web Share API), shown only where the browser has one.
  function offerShareSheet(root) {
    if (!navigator.share || !root.querySelectorAll) { return; }
    Array.prototype.forEach.call(root.querySelectorAll("[data-share-url][hidden]"), function (button) {
      button.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    offerShareSheet(document);
    // A code a personal link left waits in «Применить»: show the field (without focusing it,
    // which would open a phone's keyboard).
    var waiting = document.querySelector("[data-waiting-code]");
    if (waiting) { waiting.scrollIntoView({ block: "center" }); }
  });
  document.addEventListener("htmx:load", function (event) { offerShareSheet(event.detail.elt); });
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-share-url]");
    if (!button || !navigator.share) { return; }
    navigator.share({
      title: "Приглашение в Корпоративную АТС",
      text: button.getAttribute("data-share-text"),
      url: button.getAttribute("data-share-url")
    }).catch(function () { /* closed without sharing: nothing to say */ });
  });

  // ARIA tabs: arrows, Home and End move between tabs and open them (automatic activation).
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest('[role="tab"]');
    if (!tab) { return; }
    var tabs = Array.prototype.slice.call(tab.closest('[role="tablist"]').querySelectorAll('[role="tab"]'));
    var index = tabs.indexOf(tab);
    var next = null;
    if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
    else if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
    else if (event.key === "Home") { next = tabs[0]; }
    else if (event.key === "End") { next = tabs[tabs.length - 1]; }
    if (!next) { return; }
    event.preventDefault();
    next.focus();
    // Fresh content may not have been wired by htmx yet; a plain link would reload the page.
    if (window.htmx) { window.htmx.process(next); }
    next.click();
  });

  // After htmx replaces the tabs because an arrow key chose a tab, focus stays on the chosen
  // tab. Any other key (Tab into the panel) or a click ends that, so the pending-invitations
  // refresh leaves focus where the person put it.
  var TAB_KEYS = ["ArrowRight", "ArrowLeft", "Home", "End"];
  var keyboardTabs = null;  // the id of the swapped block whose tab the keyboard has just chosen
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest('[role="tab"]');
    var block = tab && TAB_KEYS.indexOf(event.key) >= 0 && tab.closest("#tabs, #share-form");
    keyboardTabs = block ? block.id : null;
  }, true);
  document.addEventListener("mousedown", function () { keyboardTabs = null; }, true);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!keyboardTabs || !event.detail.elt || event.detail.elt.id !== keyboardTabs) { return; }
    var selected = document.querySelector("#" + keyboardTabs + ' [role="tab"][aria-selected="true"]');
    if (selected && document.activeElement !== selected) { selected.focus(); }
  });
})();

// «Поделиться кодом»: the dialog htmx appends to <body> is opened as a modal (focus stays
// inside, Esc closes it) and removed from the page when closed.
(function () {
  "use strict";

  function openDialogs(root) {
    var dialogs = (root.matches && root.matches("dialog[data-modal]")) ? [root] :
      Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll("dialog[data-modal]") : []);
    dialogs.forEach(function (dialog) {
      if (dialog.open) { return; }
      var opener = document.activeElement;
      dialog.addEventListener("close", function () {
        dialog.remove();
        if (opener && opener.focus) { opener.focus(); }
      });
      dialog.showModal();
      var field = dialog.querySelector("[autofocus]") || dialog.querySelector("input:not([type=hidden])");
      if (field) { field.focus(); }
    });
  }

  document.addEventListener("htmx:load", function (event) { openDialogs(event.detail.elt); });

  // Keep Tab and Shift+Tab inside the open dialog (not out to the browser's own controls).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Tab") { return; }
    var dialog = document.querySelector("dialog[data-modal][open]");
    if (!dialog) { return; }
    var focusable = Array.prototype.filter.call(
      dialog.querySelectorAll('a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), [tabindex]:not([tabindex="-1"])'),
      function (el) { return el.offsetParent !== null; });
    if (!focusable.length) { return; }
    var first = focusable[0], last = focusable[focusable.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault(); last.focus();
    } else if (!event.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      event.preventDefault(); first.focus();
    }
  });

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) { closer.closest("dialog").close(); return; }
    // A click on the backdrop (outside the dialog's box) closes it too.
    if (event.target.matches && event.target.matches("dialog[data-modal]")) {
      var box = event.target.getBoundingClientRect();
      var inside = event.clientX >= box.left && event.clientX <= box.right &&
                   event.clientY >= box.top && event.clientY <= box.bottom;
      if (!inside) { event.target.close(); }
    }
  });

  // The tabs refresh themselves (hx-trigger="invitation-sent from:body"); the dialog stays
  // open with the outcome (partials/_share_sent.html) until «Готово».

  // Each submit from the dialog starts clean: no outcome, no refusal, no field errors of the
  // previous attempt (the answer brings the current ones).
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    var dialog = form && form.closest && form.closest("dialog[data-modal]");
    if (!dialog || form.tagName !== "FORM") { return; }
    ["share-status", "share-alert"].forEach(function (id) {
      var region = document.getElementById(id);
      if (region) { region.textContent = ""; }
    });
    Array.prototype.forEach.call(form.querySelectorAll(".field__error, .form-error"),
      function (el) { el.remove(); });
    Array.prototype.forEach.call(form.querySelectorAll("[role=alert]"), function (el) { el.textContent = ""; });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    });
  });
})();

// Old news goes on the next action: a flash («Код применен…») or an alert stays until the
// person clicks or submits something else, not for the rest of the visit.
(function () {
  "use strict";

  function clearOld(event) {
    var target = event.target;
    if (!target || !target.closest) { return; }
    if (event.type === "click" && !target.closest("a[href], button, [role=tab], input[type=submit]")) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("main .messages"), function (el) { el.remove(); });
    var alerts = document.getElementById("alerts");
    if (alerts) { alerts.textContent = ""; }
  }

  document.addEventListener("click", clearOld, true);
  document.addEventListener("submit", clearOld, true);
})();
