// The Active Devices list's selection: a check box per row (Pending
// Registrations and the registered list), "select all on this page", "select
// all N matching this search" (the selection is then the search itself) and
// the bar that counts the selection. Check marks survive the sections'
// refreshes (the 10-second poll of Pending Registrations).
(function () {
  "use strict";

  function bar() { return document.getElementById("bulk-bar"); }
  function boxes(kind) {
    var selector = "input[type=checkbox][name=ids][form=bulk-bar]";
    if (kind) { selector += "[data-selectable=" + kind + "]"; }
    return Array.prototype.slice.call(document.querySelectorAll(selector));
  }
  function allMatching() {
    var all = document.getElementById("bulk-all");
    return Boolean(all && !all.disabled);
  }
  function setAllMatching(on) {
    var all = document.getElementById("bulk-all");
    if (all) { all.disabled = !on; }
  }

  function update() {
    var form = bar();
    if (!form) { return; }
    var checked = boxes().filter(function (b) { return b.checked; });
    var total = Number(form.getAttribute("data-total") || 0);
    var registered = boxes("registered");
    var wholePage = registered.length > 0 && registered.every(function (b) { return b.checked; });
    var count = allMatching() ? total : checked.length;
    var text = count === 0 ? "No devices selected" : count + (count === 1 ? " device selected" : " devices selected");
    if (allMatching()) { text = "All " + total + " devices matching this search selected"; }
    var label = document.getElementById("selection-count");
    if (label.textContent !== text) { label.textContent = text; }
    form.hidden = count === 0;
    document.body.classList.toggle("has-selection", count > 0);
    // The code sheet of the checked pending devices (registered ones have no code to print).
    var print = document.getElementById("selection-print");
    if (print) {
      var pending = allMatching() ? [] : boxes("pending").filter(function (b) { return b.checked; });
      print.hidden = pending.length === 0;
      print.textContent = pending.length ? "Print codes (" + pending.length + ")" : "Print codes";
      print.href = print.getAttribute("data-sheet") + "?ids=" + pending.map(function (b) { return b.value; }).join(",");
    }
    var more = document.getElementById("select-all-matching");
    if (more) { more.hidden = allMatching() || !wholePage || total <= registered.length; }
    document.querySelectorAll("[data-select-page]").forEach(function (head) {
      var section = document.getElementById(head.getAttribute("data-select-page"));
      var own = section ? Array.prototype.slice.call(section.querySelectorAll("input[name=ids][form=bulk-bar]")) : [];
      var on = own.filter(function (b) { return b.checked; }).length;
      head.checked = own.length > 0 && on === own.length;
      head.indeterminate = on > 0 && on < own.length;
    });
  }

  function clear() {
    setAllMatching(false);
    boxes().forEach(function (b) { b.checked = false; });
    update();
  }

  document.addEventListener("change", function (e) {
    var target = e.target;
    if (target.matches && target.matches("[data-select-page]")) {
      var section = document.getElementById(target.getAttribute("data-select-page"));
      if (section) {
        section.querySelectorAll("input[name=ids][form=bulk-bar]").forEach(function (b) { b.checked = target.checked; });
      }
      if (!target.checked) { setAllMatching(false); }
      update();
    } else if (target.matches && target.matches("input[name=ids][form=bulk-bar]")) {
      // Unchecking a row leaves "all matching": the selection is the rows again.
      if (!target.checked) { setAllMatching(false); }
      update();
    }
  });
  document.addEventListener("click", function (e) {
    var target = e.target.closest ? e.target.closest("button") : null;
    if (!target) { return; }
    if (target.id === "select-all-matching") {
      // The selection becomes the search: pending rows are not part of it.
      boxes("pending").forEach(function (b) { b.checked = false; });
      boxes("registered").forEach(function (b) { b.checked = true; });
      setAllMatching(true);
      update();
      document.getElementById("selection-count").focus();
    } else if (target.id === "selection-clear") {
      clear();
    }
  });

  // Keep the check marks across a section's refresh.
  var kept = null;
  document.addEventListener("htmx:beforeSwap", function () {
    kept = { ids: boxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; }), all: allMatching() };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (kept) {
      boxes().forEach(function (b) { if (kept.ids.indexOf(b.value) !== -1) { b.checked = true; } });
      setAllMatching(kept.all);
      if (kept.all) { boxes("registered").forEach(function (b) { b.checked = true; }); }
    }
    // The bulk dialog's own steps are not edits to be discarded.
    var dialog = document.getElementById("bulk-dialog");
    if (dialog) { dialog.removeAttribute("data-dirty"); }
    update();
  });
  // A bulk action done: its devices are gone or changed, the selection starts again.
  document.body.addEventListener("selection-done", function () { kept = null; clear(); });
  document.addEventListener("DOMContentLoaded", function () {
    document.getElementById("selection-count").setAttribute("tabindex", "-1");
    update();
  });
})();
