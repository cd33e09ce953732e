// The list component (views/partials/table.html): row selection and the
// bulk bar, "select all matching", the Filters panel, the column chooser
// (remembered per list in localStorage), the page-size selector and the
// menus. Wired by event delegation on the document, so tables that htmx
// swaps in later work too; the Content-Security-Policy forbids inline
// scripts.
(function () {
  "use strict";

  // ---- Selection and the bulk bar ----
  function refreshBulk(form) {
    var bar = form.querySelector("[data-bulk-bar]");
    if (!bar) return;
    var boxes = form.querySelectorAll('input[name="ids"]');
    var checked = form.querySelectorAll('input[name="ids"]:checked').length;
    var all = form.querySelector("[data-all-matching]");
    var total = Number(form.getAttribute("data-total") || 0);
    if (checked < boxes.length && all) all.value = "";
    var matching = all && all.value === "1";
    bar.hidden = checked === 0;
    var count = bar.querySelector("[data-selected-count]");
    if (count) count.textContent = matching ? "All " + total + " matching selected" : checked + " selected";
    var more = bar.querySelector("[data-select-matching]");
    if (more) more.hidden = matching || checked < boxes.length || total <= boxes.length;
    var head = form.querySelector("[data-select-all]");
    if (head) {
      head.checked = checked > 0 && checked === boxes.length;
      head.indeterminate = checked > 0 && checked < boxes.length;
    }
    form.querySelectorAll('input[name="ids"]').forEach(function (box) {
      var row = box.closest("tr");
      if (row) row.classList.toggle("selected", box.checked);
    });
  }

  document.addEventListener("change", function (e) {
    var el = e.target;
    var form = el.closest && el.closest("form.table-form");
    if (!form) return;
    if (el.hasAttribute("data-select-all")) {
      form.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = el.checked; });
    }
    if (el.hasAttribute("data-select-all") || el.name === "ids") refreshBulk(form);
  });

  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-select-matching], [data-clear-selection]");
    if (!el) return;
    var form = el.closest("form.table-form");
    if (!form) return;
    var all = form.querySelector("[data-all-matching]");
    if (el.hasAttribute("data-select-matching")) {
      if (all) all.value = "1";
    } else {
      if (all) all.value = "";
      form.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = false; });
    }
    refreshBulk(form);
  });

  // ---- Menus (<details class="menu">): one open at a time; Escape or a
  // click elsewhere closes them. ----
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (d !== except && !d.contains(except)) d.open = false;
    });
  }
  document.addEventListener("click", function (e) {
    var menu = e.target.closest && e.target.closest("details.menu");
    closeMenus(menu);
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") return;
    var open = document.querySelector("details.menu[open]");
    if (open) {
      open.open = false;
      var s = open.querySelector("summary");
      if (s) s.focus();
      return;
    }
    var panel = document.querySelector(".filter-panel:not([hidden])");
    if (panel) toggleFilters(panel.closest(".table-toolbar"), false);
  });

  // ---- The Filters panel ----
  function toggleFilters(toolbar, open) {
    if (!toolbar) return;
    var button = toolbar.querySelector("[data-filter-toggle]");
    var panel = toolbar.querySelector(".filter-panel");
    if (!button || !panel) return;
    if (open === undefined) open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) {
      var first = panel.querySelector("select, input");
      if (first) first.focus();
    } else {
      button.focus();
    }
  }
  document.addEventListener("click", function (e) {
    var el = e.target.closest && e.target.closest("[data-filter-toggle], [data-filter-close]");
    if (el) toggleFilters(el.closest(".table-toolbar"));
  });

  // ---- Page size: the selector belongs to the toolbar's form (form=),
  // so a change reloads the list with the filters, on page 1. ----
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (!el.hasAttribute || !el.hasAttribute("data-page-size")) return;
    var form = el.form;
    if (form && window.htmx) {
      window.htmx.trigger(form, "change");
    } else {
      var opt = el.options[el.selectedIndex];
      if (opt && opt.getAttribute("data-url")) window.location.href = opt.getAttribute("data-url");
    }
  });

  // ---- Column chooser, remembered per list ----
  function storedColumns(id) {
    try {
      var v = window.localStorage.getItem("licensor.columns." + id);
      return v ? JSON.parse(v) : null;
    } catch (err) { return null; }
  }
  function storeColumns(id, hidden) {
    try { window.localStorage.setItem("licensor.columns." + id, JSON.stringify(hidden)); } catch (err) { /* private mode */ }
  }
  // applyColumns shows and hides the cells of a list's optional columns
  // as its chooser says, or as the headings' defaults (data-default-hidden)
  // say when nothing was chosen.
  function applyColumns(id) {
    var hidden = storedColumns(id);
    var table = document.querySelector('table[data-columns="' + id + '"]');
    var chooser = document.querySelector('[data-column-chooser="' + id + '"]');
    if (table) table.querySelectorAll("thead th[data-col]").forEach(function (th) {
      var key = th.getAttribute("data-col");
      var optional = !chooser || chooser.querySelector('input[value="' + key + '"]');
      if (!optional) return;
      var hide = hidden ? hidden.indexOf(key) >= 0 : th.hasAttribute("data-default-hidden");
      document.querySelectorAll('table[data-columns="' + id + '"] [data-col="' + key + '"]').forEach(function (cell) {
        cell.hidden = hide;
      });
      var box = chooser && chooser.querySelector('input[value="' + key + '"]');
      if (box) box.checked = !hide;
    });
  }
  document.addEventListener("change", function (e) {
    var chooser = e.target.closest && e.target.closest("[data-column-chooser]");
    if (!chooser) return;
    var id = chooser.getAttribute("data-column-chooser");
    var hidden = [];
    chooser.querySelectorAll('input[type="checkbox"]').forEach(function (box) { if (!box.checked) hidden.push(box.value); });
    storeColumns(id, hidden);
    applyColumns(id);
  });

  function init(root) {
    (root || document).querySelectorAll("table[data-columns]").forEach(function (t) { applyColumns(t.getAttribute("data-columns")); });
    (root && root.matches && root.matches("form.table-form") ? [root] : []).concat([].slice.call((root || document).querySelectorAll("form.table-form")))
      .forEach(refreshBulk);
  }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:load", function (e) { init(e.detail && e.detail.elt); });
})();
