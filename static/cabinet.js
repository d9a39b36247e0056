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
    next.click();
  });

  // After htmx replaces the tabs, a keyboard user keeps focus on the selected tab.
  var tabKeyboard = false;
  document.addEventListener("keydown", function (event) {
    tabKeyboard = !!(event.target.closest && event.target.closest('[role="tab"]'));
  }, true);
  document.addEventListener("mousedown", function () { tabKeyboard = false; }, true);
  document.addEventListener("htmx:afterSettle", function () {
    if (!tabKeyboard) { return; }
    var selected = document.querySelector('#tabs [role="tab"][aria-selected="true"]');
    if (selected && document.activeElement !== selected) { selected.focus(); }
  });
})();
