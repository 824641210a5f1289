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
    dialog.addEventListener("cancel", function (e) {
      // Escape: a changed dialog asks first.
      if (dialog.hasAttribute("data-dirty")) {
        e.preventDefault();
        askDiscard(dialog);
      }
    });
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

  function reducedMotion() {
    return !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  }

  // Toasts: one live region (#toasts) shows Django's messages and the "toast"
  // events that htmx responses trigger ({"message", "level"}). Each has a
  // Dismiss button; success notes fade after a while unless the pointer or
  // focus rests on them; errors and warnings stay until dismissed.
  var TOAST_MS = 8000, TOASTS_KEPT = 3;
  function dismissToast(toast) {
    toast.classList.add("is-leaving");
    window.setTimeout(function () { toast.remove(); }, reducedMotion() ? 0 : 400);
  }
  function armToast(toast) {
    if (toast.hasAttribute("data-toast-ready")) { return; }
    toast.setAttribute("data-toast-ready", "");
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast__close";
    close.setAttribute("aria-label", "Dismiss message");
    close.textContent = "\u00d7";
    close.addEventListener("click", function () { toast.remove(); });
    toast.appendChild(close);
    if (toast.classList.contains("toast--success") || toast.classList.contains("toast--info")) {
      var timer = null;
      var start = function () { timer = window.setTimeout(function () { dismissToast(toast); }, TOAST_MS); };
      var stop = function () { window.clearTimeout(timer); };
      toast.addEventListener("mouseenter", stop);
      toast.addEventListener("mouseleave", start);
      toast.addEventListener("focusin", stop);
      toast.addEventListener("focusout", start);
      start();
    }
  }
  function showToast(message, level) {
    var region = document.getElementById("toasts");
    if (!region || !message) { return; }
    var toast = document.createElement("div");
    toast.className = "toast toast--" + (level || "success");
    var text = document.createElement("p");
    text.className = "toast__text";
    text.textContent = message;
    toast.appendChild(text);
    region.appendChild(toast);
    armToast(toast);
    var all = region.querySelectorAll(".toast");
    for (var i = 0; i < all.length - TOASTS_KEPT; i++) { all[i].remove(); }
  }

  // The row an action touched. A request from a table row (or from the
  // Device dialog opened from one) remembers the row's number and the section
  // it answers into. When its toast arrives, and once the section named by
  // the toast's "await" has been swapped in again, that row (or the one the
  // toast's "highlight" names) is scrolled into view, flashed and focused;
  // when the row is gone, the section's heading takes focus.
  var acted = null, awaited = null, AWAIT_MS = 6000;
  function rowNumber(el) {
    var row = el && el.closest ? el.closest("tr[id^='pending-'], tr[id^='device-']") : null;
    return row ? row.id.split("-").pop() : null;
  }
  function takeFocus(el) {
    if (!el.matches("a[href], button, input, select, textarea") && !el.hasAttribute("tabindex")) {
      el.setAttribute("tabindex", "-1");
    }
    el.focus({ preventScroll: true });
  }
  function flashRow(row) {
    row.classList.remove("is-highlighted");
    void row.offsetWidth;
    row.classList.add("is-highlighted");
    window.setTimeout(function () { row.classList.remove("is-highlighted"); }, 4000);
    row.scrollIntoView({ block: "center", behavior: reducedMotion() ? "auto" : "smooth" });
    takeFocus(row);
  }
  function settleAwaited(swapped) {
    if (!awaited) { return; }
    if (Date.now() > awaited.until) { awaited = null; return; }
    var section = awaited.section ? document.getElementById(awaited.section) : null;
    if (awaited.waiting && !(swapped && section && (swapped === section || swapped.contains(section)))) { return; }
    var row = null;
    if (awaited.highlight) {
      row = document.querySelector(awaited.highlight);
    } else if (awaited.pk && section) {
      row = section.querySelector("#pending-" + awaited.pk + ", #device-" + awaited.pk);
    }
    awaited = null;
    if (row) {
      flashRow(row);
    } else if (section) {
      takeFocus(section.querySelector("h2") || section);
    }
  }

  // Focus goes back to an element that a refresh (the 10-second poll) may
  // have replaced meanwhile: then to its stand-in, the element with the same
  // id, or the same kind and text in the same row.
  function finder(el) {
    if (!el || !el.closest) { return function () { return null; }; }
    var host = el.parentElement ? el.parentElement.closest("[id]") : null;
    var hostId = host ? host.id : "", tag = el.tagName, text = el.textContent;
    return function () {
      if (document.body.contains(el)) { return el; }
      if (el.id && document.getElementById(el.id)) { return document.getElementById(el.id); }
      var again = hostId ? document.getElementById(hostId) : null;
      if (!again) { return null; }
      return Array.prototype.filter.call(again.querySelectorAll(tag), function (c) { return c.textContent === text; })[0] || null;
    };
  }

  // The product's own confirmation: a modal <dialog> (built here, since
  // only this script asks, and removed once answered), so focus stays inside
  // it; Escape answers Cancel; focus returns to where it was. Resolves to
  // true for OK.
  function confirmDialog() {
    var dialog = document.createElement("dialog");
    dialog.id = "confirm-dialog";
    dialog.className = "dialog confirm";
    dialog.setAttribute("aria-labelledby", "confirm-heading");
    dialog.setAttribute("aria-describedby", "confirm-text");
    dialog.innerHTML = '<form method="dialog" class="confirm__body">' +
      '<h2 id="confirm-heading" class="confirm__heading">Please confirm</h2>' +
      '<p id="confirm-text" class="confirm__text"></p>' +
      '<div class="form-actions">' +
      '<button type="submit" value="cancel" class="btn btn--secondary" data-confirm-cancel></button>' +
      '<button type="submit" value="ok" class="btn" data-confirm-ok></button>' +
      "</div></form>";
    document.body.appendChild(dialog);
    return dialog;
  }
  function askConfirm(text, okLabel, cancelLabel) {
    if (document.getElementById("confirm-dialog")) { return Promise.resolve(false); }
    var dialog = confirmDialog();
    dialog.querySelector("#confirm-text").textContent = text;
    dialog.querySelector("[data-confirm-ok]").textContent = okLabel || "OK";
    var cancel = dialog.querySelector("[data-confirm-cancel]");
    cancel.textContent = cancelLabel || "Cancel";
    var returnTo = finder(document.activeElement);
    dialog.returnValue = "";
    return new Promise(function (resolve) {
      dialog.addEventListener("close", function () {
        dialog.remove();
        var back = returnTo();
        if (back) { back.focus(); }
        resolve(dialog.returnValue === "ok");
      }, { once: true });
      dialog.showModal();
      cancel.focus();
    });
  }
  // A changed Device dialog asks before Escape, Cancel or its close button discard it.
  function askDiscard(dialog) {
    askConfirm("Discard the changes in this dialog? What you entered is lost.", "Discard changes", "Keep editing")
      .then(function (ok) { if (ok) { dialog.close(); } });
  }
  function markChanged(e) {
    var target = e.target;
    if (!target.closest) { return; }
    var holder = target.closest("dialog[data-modal]") || target.closest("#device-form");
    if (holder) { holder.setAttribute("data-dirty", ""); }
  }

  // The phone menu: the Menu button shows and hides the panel with every
  // destination, the company, the user and Sign out; Escape or a click
  // elsewhere closes it.
  function setupMenu() {
    var button = document.querySelector("[data-menu-toggle]");
    var menu = button ? document.getElementById(button.getAttribute("aria-controls")) : null;
    if (!menu) { return; }
    function set(open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("is-open", open);
    }
    button.addEventListener("click", function () { set(button.getAttribute("aria-expanded") !== "true"); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && menu.classList.contains("is-open") && !document.querySelector("dialog[open]")) {
        set(false);
        button.focus();
      }
    });
    document.addEventListener("click", function (e) {
      if (menu.classList.contains("is-open") && !menu.contains(e.target) && !button.contains(e.target)) { set(false); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.requestSubmit(); });
    });
    tickCountdowns();
    window.setInterval(tickCountdowns, 1000);
    setupTabs(document);
    setupDeviceForm();
    setupMenu();
    document.querySelectorAll("#toasts .toast").forEach(armToast);

    document.body.addEventListener("htmx:beforeRequest", function (e) {
      var elt = e.detail.elt;
      if (elt && elt.hasAttribute && elt.hasAttribute("data-opens-dialog")) {
        opener = elt;
      }
      // Sections refreshing themselves (polls, "devices-changed") are not actions.
      if (!elt || !elt.closest || elt.matches("section[id]")) { return; }
      var inDialog = elt.closest("dialog[data-modal]");
      if (inDialog && e.detail.requestConfig && e.detail.requestConfig.verb !== "get") {
        inDialog.setAttribute("data-dirty", "");
      }
      acted = { pk: rowNumber(inDialog ? opener : elt), section: (e.detail.target && e.detail.target.id) || "" };
    });
    // {"message", "level", "highlight", "await"}: see docs/active-devices.md.
    document.body.addEventListener("toast", function (e) {
      var detail = e.detail || {};
      // OK in the Device dialog saved it: close without asking, once the
      // response's other events (fired on the dialog's form) have bubbled.
      var dialog = e.target.closest ? e.target.closest("dialog[data-modal][open]") : null;
      if (dialog) { window.setTimeout(function () { if (dialog.open) { dialog.close(); } }, 0); }
      showToast(detail.message, detail.level);
      awaited = {
        section: detail.await || (acted && acted.section) || "",
        highlight: detail.highlight || "",
        pk: acted && acted.pk,
        waiting: !!detail.await,
        until: Date.now() + AWAIT_MS
      };
      acted = null;
      if (!awaited.waiting) { settleAwaited(null); }
    });
    // hx-confirm asks with the product's dialog, never the browser's confirm().
    document.body.addEventListener("htmx:confirm", function (e) {
      if (!e.detail.question) { return; }
      e.preventDefault();
      askConfirm(e.detail.question).then(function (ok) { if (ok) { e.detail.issueRequest(true); } });
    });
    document.addEventListener("input", markChanged, true);
    document.addEventListener("change", markChanged, true);
    document.addEventListener("submit", function (e) {
      // The full-page Device form is being saved: leaving the page is what OK does.
      if (e.target.id === "device-form" && !e.target.closest("dialog")) { e.target.removeAttribute("data-dirty"); }
    }, true);
    // A batch of devices was added: what the dialog shows now is saved, so
    // closing it or following its code-sheet link asks nothing.
    document.body.addEventListener("batch-added", function () {
      document.querySelectorAll("dialog[data-modal][data-dirty], #device-form[data-dirty]").forEach(function (el) {
        el.removeAttribute("data-dirty");
      });
    });
    window.addEventListener("beforeunload", function (e) {
      if (document.querySelector("dialog[data-modal][open][data-dirty], #device-form[data-dirty]")) {
        e.preventDefault();
        e.returnValue = "";
      }
    });
    // The Pending Registrations poll sends the ETag of the copy it shows: while
    // nothing changed the server answers 304 Not Modified, on which htmx swaps
    // nothing (base.html's htmx-config), so open QR images, focus and check
    // marks are not even touched. Any other answer that fills the section
    // (an action's, which has no ETag) replaces the tag the next poll sends.
    var pendingEtag = null;
    document.body.addEventListener("htmx:configRequest", function (e) {
      if (pendingEtag && e.detail.verb === "get" && !e.detail.triggeringEvent && e.detail.elt.id === "pending-registrations") {
        e.detail.headers["If-None-Match"] = pendingEtag;
      }
    });
    document.body.addEventListener("htmx:afterRequest", function (e) {
      var xhr = e.detail.xhr, target = e.detail.target;
      if (!xhr || xhr.status === 304 || !target || target.id !== "pending-registrations") { return; }
      pendingEtag = e.detail.successful ? xhr.getResponseHeader("ETag") : null;
    });
    // "Show QR" reads "Hide QR" while the code's QR image is open.
    document.addEventListener("toggle", function (e) {
      var details = e.target;
      if (!details.matches || !details.matches("details.qr")) { return; }
      var summary = details.querySelector("summary");
      if (summary) { summary.textContent = details.open ? "Hide QR" : "Show QR"; }
    }, true);
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
      settleAwaited(e.target);
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
        if (dialog.hasAttribute("data-dirty")) { askDiscard(dialog); } else { dialog.close(); }
      }
    });
  });
})();

// ---- Time-zone picker (core/forms.py, TimeZoneField) ---- begin ----
// Every time-zone box is a text box with a datalist of the current zones;
// the server resolves what was typed. Here: a name that is one zone of the
// list, in any case ("chicago", "america/chicago"), is completed to its
// exact spelling when the box changes; and in the Device dialog the empty
// box's placeholder and hint name the zone of the team chosen in the team
// select (data-team-field names it; data-team-zones maps team id to zone).
function setupTimeZonePickers() {
  "use strict";
  function key(text) { return text.replace(/_/g, " ").replace(/\s+/g, " ").trim().toLowerCase(); }
  function complete(input) {
    var query = key(input.value);
    if (!query || !input.list) { return; }
    var exact = null, cities = [];
    Array.prototype.forEach.call(input.list.options, function (option) {
      var name = option.value;
      if (key(name) === query) { exact = name; }
      if (key(name.split("/").pop()) === query) { cities.push(name); }
    });
    var found = exact || (cities.length === 1 ? cities[0] : null);
    if (found && found !== input.value) { input.value = found; }
  }
  function showTeamZone(select) {
    if (!select.form) { return; }
    select.form.querySelectorAll("input[data-team-zones]").forEach(function (input) {
      if (input.getAttribute("data-team-field") !== select.name) { return; }
      var zones;
      try { zones = JSON.parse(input.getAttribute("data-team-zones")); } catch (e) { return; }
      var zone = zones[select.value] || "";
      input.placeholder = (input.getAttribute("data-placeholder") || "").replace("{zone}", zone);
      var help = document.getElementById(input.id + "_helptext");
      if (help && input.hasAttribute("data-help")) { help.textContent = input.getAttribute("data-help").replace("{zone}", zone); }
    });
  }
  document.addEventListener("change", function (e) {
    var target = e.target;
    if (!target.matches) { return; }
    if (target.matches("input[data-time-zone]")) { complete(target); }
    if (target.matches("select")) { showTeamZone(target); }
  });
}
setupTimeZonePickers();
// ---- Time-zone picker ---- end ----
