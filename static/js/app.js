// Small behaviours for the console. The Content-Security-Policy forbids
// inline scripts, so everything is wired here by event delegation on the
// document, which also covers content htmx swaps in later.
(function () {
  "use strict";

  // <form data-confirm="Delete this license?"> or <button data-confirm=…>:
  // ask before submitting. (htmx requests use hx-confirm instead.)
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var submitter = e.submitter;
    var msg = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    // <form data-confirm-selected="Delete {n} customers?">: a bulk action
    // on the checked ids; nothing checked, nothing sent.
    // The submitting button's own data-confirm-selected wins, so one form
    // can offer several bulk actions.
    var bulk = (submitter && submitter.getAttribute("data-confirm-selected")) || form.getAttribute("data-confirm-selected");
    if (bulk) {
      var n = form.querySelectorAll('input[name="ids"]:checked').length;
      msg = n === 0 ? "" : bulk.replace("{n}", String(n));
      if (n === 0) {
        window.alert("Select at least one row first.");
        e.preventDefault();
        e.stopImmediatePropagation();
        return;
      }
    }
    if (msg && !window.confirm(msg)) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);

  // A search box with its own hx-get has searched while it was typed in.
  // Its change event (on blur) must not reach the filter form's
  // hx-trigger="change": that second search would replace the results
  // while a click on one of them is loading, and htmx drops the response
  // of a link that is no longer in the page, so the click does nothing.
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches('input[type="search"][hx-get]')) e.stopPropagation();
  }, true);

  // <a download> saves a file (a license file, a CSV export): the click
  // must stay the browser's own. Under <body hx-boost> htmx would fetch the
  // file and swap its text in as the page. Stopping the click on its way
  // down keeps it from htmx's listener on the link; the default (the
  // download) still happens.
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("a[download]")) e.stopPropagation();
  }, true);

  // <input type="checkbox" data-select-all> checks or clears every row
  // checkbox (name="ids") of its form.
  document.addEventListener("change", function (e) {
    var all = e.target;
    if (!all.hasAttribute || !all.hasAttribute("data-select-all")) return;
    var form = all.closest("form");
    if (!form) return;
    form.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = all.checked; });
  });

  document.addEventListener("click", function (e) {
    var el = e.target.closest("[data-copy], [data-dismiss], [data-toggle-nav]");
    if (!el) return;

    // <button data-copy="text"> or <button data-copy data-copy-target="#id">
    if (el.hasAttribute("data-copy")) {
      var text = el.getAttribute("data-copy");
      var sel = el.getAttribute("data-copy-target");
      if (sel) {
        var target = document.querySelector(sel);
        text = target ? (target.value !== undefined ? target.value : target.textContent) : "";
      }
      if (!text || !navigator.clipboard) return;
      navigator.clipboard.writeText(text.trim()).then(function () {
        var label = el.textContent;
        el.textContent = "Copied";
        el.classList.add("copied");
        setTimeout(function () { el.textContent = label; el.classList.remove("copied"); }, 1500);
      });
      return;
    }

    // The × on a flash message.
    if (el.hasAttribute("data-dismiss")) {
      var box = el.closest(".flash");
      if (box) box.remove();
      return;
    }

    // The menu button on narrow screens.
    if (el.hasAttribute("data-toggle-nav")) {
      var open = document.body.classList.toggle("nav-open");
      el.setAttribute("aria-expanded", open ? "true" : "false");
    }
  });

  // Success messages fade out on their own; errors stay until dismissed.
  function autoDismiss(root) {
    root.querySelectorAll(".flash-success:not([data-timed]), .flash-info:not([data-timed])").forEach(function (box) {
      box.setAttribute("data-timed", "");
      setTimeout(function () { box.classList.add("fade"); }, 5000);
      setTimeout(function () { box.remove(); }, 5600);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { autoDismiss(document); });
  document.addEventListener("htmx:afterSettle", function () { autoDismiss(document); });

  // Score-based CAPTCHAs (reCAPTCHA v3, drawn by the captcha-recaptcha
  // plugin) show no widget: the form holds <input type="hidden"
  // data-recaptcha-v3="<site key>" data-action="login">. On submit the
  // page asks the provider's script for a token (grecaptcha.ready, then
  // execute(siteKey, {action})), puts it in that field and submits again.
  // Without the script (blocked, not loaded yet) the form goes without a
  // token and the server asks to try again.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var field = form.querySelector && form.querySelector("input[data-recaptcha-v3]");
    if (!field || form.hasAttribute("data-captcha-token")) return;
    var g = window.grecaptcha;
    if (!g || typeof g.ready !== "function") return;
    e.preventDefault();
    e.stopImmediatePropagation();
    var submitter = e.submitter;
    var send = function () {
      // The second submit passes this listener, then the attribute goes
      // so a later submit of the same form fetches a fresh token.
      form.setAttribute("data-captcha-token", "");
      if (form.requestSubmit) form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      else form.submit();
      form.removeAttribute("data-captcha-token");
    };
    g.ready(function () {
      Promise.resolve(g.execute(field.getAttribute("data-recaptcha-v3"), { action: field.getAttribute("data-action") || "submit" }))
        .then(function (token) { field.value = token || ""; }, function () { field.value = ""; })
        .then(send);
    });
  }, true);
})();
