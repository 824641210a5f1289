// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Time left before a registration code expires, updated every second.
  function formatLeft(ms) {
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    if (d > 0) { return d + " d " + h + " h left"; }
    if (h > 0) { return h + " h " + (m < 10 ? "0" : "") + m + " min left"; }
    return m + ":" + (s < 10 ? "0" : "") + s + " left";
  }
  function tickCountdowns() {
    var now = Date.now();
    document.querySelectorAll("[data-expires]").forEach(function (el) {
      var left = Date.parse(el.getAttribute("data-expires")) - now;
      if (isNaN(left)) { return; }
      if (left <= 0) {
        el.textContent = "expired";
        el.classList.add("is-expired");
      } else {
        el.textContent = formatLeft(left);
      }
    });
  }

  // The Device dialog: opened by htmx into #dialog-slot; Escape, Cancel and
  // the close button close it, and focus goes back to the button that opened it.
  var opener = null;
  function openDialogIn(container) {
    var dialog = container.querySelector("dialog[data-modal]");
    if (!dialog || dialog.open) { return; }
    var returnTo = opener;
    dialog.addEventListener("close", function () {
      dialog.remove();
      // The section may have been refreshed meanwhile: its new button stands in for the old one.
      if (returnTo && !document.body.contains(returnTo)) { returnTo = document.querySelector("[data-opens-dialog]"); }
      if (returnTo) { returnTo.focus(); }
    });
    dialog.showModal();
    var first = dialog.querySelector("[autofocus]") || dialog.querySelector("input:not([type=hidden]), select, textarea");
    if (first) { first.focus(); }
  }

  // ARIA tabs (the Device dialog): click or arrow keys switch tabs; only the
  // selected panel shows. The hidden "tab" input tells the server which tab
  // to show again after a round-trip.
  function setupTabs(root) {
    root.querySelectorAll("[role=tablist]:not([data-tabs-ready])").forEach(function (list) {
      list.setAttribute("data-tabs-ready", "");
      var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
      var form = list.closest("form");
      var state = form ? form.querySelector("[data-tab-state]") : null;
      function select(tab, focus) {
        tabs.forEach(function (t) {
          var on = t === tab;
          t.setAttribute("aria-selected", on ? "true" : "false");
          t.tabIndex = on ? 0 : -1;
          var panel = document.getElementById(t.getAttribute("aria-controls"));
          if (panel) { panel.hidden = !on; }
        });
        if (state) { state.value = tab.getAttribute("data-tab") || ""; }
        if (focus) { tab.focus(); }
      }
      tabs.forEach(function (tab, index) {
        tab.addEventListener("click", function () { select(tab, false); });
        tab.addEventListener("keydown", function (e) {
          var next = null;
          if (e.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
          else if (e.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
          else if (e.key === "Home") { next = tabs[0]; }
          else if (e.key === "End") { next = tabs[tabs.length - 1]; }
          if (next) { e.preventDefault(); select(next, true); }
        });
      });
      var current = tabs.filter(function (t) { return t.getAttribute("aria-selected") === "true"; })[0] || tabs[0];
      if (current) { select(current, false); }
      // An error on a hidden panel: show its tab.
      var invalid = form ? form.querySelector(".tabpanel .error, .tabpanel [aria-invalid=true]") : null;
      if (invalid) {
        var panel = invalid.closest("[role=tabpanel]");
        var owner = panel ? tabs.filter(function (t) { return t.getAttribute("aria-controls") === panel.id; })[0] : null;
        if (owner && panel.hidden) { select(owner, false); }
      }
    });
  }

  // The Clients and Allowed Functionality tabs: Selected only with a type
  // that includes wholesale; the Custom check boxes only under Custom.
  function syncDeviceChoices(form) {
    if (!form) { return; }
    var type = form.querySelector("[data-client-type]:checked");
    var selected = form.querySelector("[data-client-selected]");
    if (type && selected) {
      var retail = type.value === "retail";
      selected.disabled = retail;
      if (retail && selected.checked) {
        selected.checked = false;
        var all = form.querySelector("input[name=client_scope][value=all]");
        if (all) { all.checked = true; }
      }
    }
    var mode = form.querySelector("[data-functionality-mode]:checked");
    var custom = form.querySelector("[data-custom-functionality]");
    if (mode && custom) { custom.disabled = mode.value !== "custom"; }
  }
  function setupDeviceForm() {
    var form = document.getElementById("device-form");
    if (!form || form.hasAttribute("data-choices-ready")) { return; }
    form.setAttribute("data-choices-ready", "");
    syncDeviceChoices(form);
    form.addEventListener("change", function (e) {
      if (e.target.matches("[data-client-type], [data-functionality-mode]")) { syncDeviceChoices(form); }
    }, true);
  }

  // Which QR disclosures are open, so that the 10-second refresh keeps them open.
  var openQr = [];

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.requestSubmit(); });
    });
    tickCountdowns();
    window.setInterval(tickCountdowns, 1000);
    setupTabs(document);
    setupDeviceForm();

    document.body.addEventListener("htmx:beforeRequest", function (e) {
      if (e.detail.elt && e.detail.elt.hasAttribute && e.detail.elt.hasAttribute("data-opens-dialog")) {
        opener = e.detail.elt;
      }
    });
    document.body.addEventListener("htmx:beforeSwap", function () {
      openQr = Array.prototype.map.call(document.querySelectorAll("details[data-keep-open][open]"), function (el) {
        return el.getAttribute("data-keep-open");
      });
    });
    // When a pending row disappears (its code was redeemed, or cancelled), the
    // registered devices table reloads itself so the new device shows at once.
    var pendingIds = null;
    function readPendingIds() {
      var section = document.getElementById("pending-registrations");
      return section ? (section.getAttribute("data-pending-ids") || "").trim().split(/\s+/).filter(Boolean) : null;
    }
    pendingIds = readPendingIds();
    document.body.addEventListener("htmx:afterSettle", function () {
      var now = readPendingIds();
      if (now && pendingIds && pendingIds.some(function (id) { return now.indexOf(id) === -1; })) {
        htmx.trigger(document.body, "devices-changed");
      }
      if (now) { pendingIds = now; }
    });
    document.body.addEventListener("htmx:afterSettle", function (e) {
      openQr.forEach(function (key) {
        var el = document.querySelector('details[data-keep-open="' + key + '"]');
        if (el) { el.open = true; }
      });
      tickCountdowns();
      setupTabs(document);
      setupDeviceForm();
      var slot = document.getElementById("dialog-slot");
      var form = document.getElementById("device-form");
      var fresh = form && !form.hasAttribute("data-seen");
      if (form) { form.setAttribute("data-seen", ""); }
      if (slot && slot.querySelector("dialog[data-modal]:not([open])")) {
        openDialogIn(slot);
      } else if (fresh) {
        // The form came back after Add Email, Add, a removal or an error:
        // put focus on the first error, or where the clicked button was.
        var invalid = form.querySelector("[aria-invalid=true]");
        var target = form.getAttribute("data-refocus");
        var el = invalid || (target && document.getElementById(target)) || form.querySelector(".error");
        if (el) {
          if (!el.matches("input, select, textarea, button")) { el.setAttribute("tabindex", "-1"); }
          el.focus();
        }
      }
    });
    document.body.addEventListener("registrations-changed", function () {
      var dialog = document.querySelector("dialog[data-modal][open]");
      if (dialog) { dialog.close(); }
    });
    document.addEventListener("click", function (e) {
      var closer = e.target.closest ? e.target.closest("[data-dialog-close]") : null;
      var dialog = closer ? closer.closest("dialog") : null;
      if (dialog) {
        e.preventDefault();
        dialog.close();
      }
    });
  });
})();
