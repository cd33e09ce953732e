// Small behaviours for the console. The Content-Security-Policy forbids
// inline scripts, so everything is wired here by event delegation on the
// document, which also covers content htmx swaps in later.
(function () {
  "use strict";

  // ---- Dialogs -------------------------------------------------------
  // Every confirmation is the console's own modal <dialog> (never the
  // browser's confirm() or alert()): showModal() makes the rest of the
  // page inert and Escape closes it; Tab is kept inside it.

  // openDialog shows a <dialog> modally and returns it; on close it goes
  // back to the element that had focus. Dialogs drawn by the server
  // (loaded into #dialog-root) are removed when closed.
  function openDialog(dialog) {
    var before = document.activeElement;
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.closest("#dialog-root")) dialog.remove();
      if (before && before.isConnected && before.focus) before.focus({ preventScroll: true });
    });
    if (!dialog.open) dialog.showModal();
    var first = dialog.querySelector("[autofocus]") || dialog.querySelector("input:not([type=hidden]), [data-dialog-cancel]");
    if (first) first.focus();
    return dialog;
  }

  // Tab and Shift+Tab cycle within the open dialog.
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Tab") return;
    var dialog = document.querySelector("dialog[open]");
    if (!dialog) return;
    var items = [].slice.call(dialog.querySelectorAll('a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'))
      .filter(function (el) { return el.offsetParent !== null; });
    if (items.length === 0) return;
    var first = items[0], last = items[items.length - 1];
    if (e.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      last.focus(); e.preventDefault();
    } else if (!e.shiftKey && (document.activeElement === last || !dialog.contains(document.activeElement))) {
      first.focus(); e.preventDefault();
    }
  });

  // askConfirm shows the confirmation dialog with message; onYes runs when
  // the admin confirms. danger paints the confirm button red.
  function askConfirm(message, danger, onYes) {
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog) { onYes(); return; }
    dialog.querySelector("[data-dialog-message]").textContent = message;
    var yes = dialog.querySelector("[data-dialog-confirm]");
    yes.classList.toggle("danger", !!danger);
    yes.textContent = danger ? "Yes, do it" : "Confirm";
    var done = false;
    yes.onclick = function () {
      if (done) return;
      done = true;
      dialog.close();
      onYes();
    };
    openDialog(dialog);
  }

  // A form or submit button with data-confirm="Delete this license?" asks
  // first. data-confirm-selected="Delete {n} customers?" is a bulk action
  // on the checked rows (name="ids"), or on every matching row when the
  // table's "select all matching" is on; nothing selected, nothing sent.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var submitter = e.submitter;
    if (form.hasAttribute("data-confirmed")) {
      form.removeAttribute("data-confirmed");
      return;
    }
    var msg = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    var bulk = (submitter && submitter.getAttribute("data-confirm-selected")) || form.getAttribute("data-confirm-selected");
    if (!msg && !bulk && !(submitter && submitter.closest(".bulk-menu"))) return;
    if (!msg) {
      var all = form.querySelector("[data-all-matching]");
      var n = all && all.value === "1" ? Number(form.getAttribute("data-total") || 0)
        : form.querySelectorAll('input[name="ids"]:checked').length;
      if (n === 0) {
        e.preventDefault();
        e.stopImmediatePropagation();
        var count = form.querySelector("[data-selected-count]");
        if (count) count.textContent = "Select at least one row first.";
        return;
      }
      if (!bulk) return;
      msg = bulk.replace("{n}", String(n));
    }
    e.preventDefault();
    e.stopImmediatePropagation();
    var danger = !!(submitter ? submitter.classList.contains("danger") : form.hasAttribute("data-danger"));
    askConfirm(msg, danger, function () {
      form.setAttribute("data-confirmed", "");
      // htmx reads formaction from the button last focused or clicked.
      if (submitter) submitter.focus({ preventScroll: true });
      if (form.requestSubmit) form.requestSubmit(submitter && submitter.form === form ? submitter : undefined);
      else form.submit();
    });
  }, true);

  // hx-confirm asks in the same dialog.
  document.addEventListener("htmx:confirm", function (e) {
    var question = e.detail && e.detail.question;
    if (!question) return;
    e.preventDefault();
    askConfirm(question, e.detail.elt && e.detail.elt.classList.contains("danger"), function () { e.detail.issueRequest(true); });
  });

  // Dialogs drawn by the server (hx-get … hx-target="#dialog-root") open
  // as soon as they arrive.
  document.addEventListener("htmx:afterSwap", function (e) {
    var root = e.detail && e.detail.target;
    if (!root || root.id !== "dialog-root") return;
    var dialog = root.querySelector("dialog");
    if (dialog) openDialog(dialog);
  });

  // Buttons that close their dialog; an input with data-confirm-text
  // enables its form's submit button only once the expected text (the
  // name of what is deleted) is typed.
  document.addEventListener("click", function (e) {
    var cancel = e.target.closest && e.target.closest("[data-dialog-cancel]");
    if (cancel) {
      var d = cancel.closest("dialog");
      if (d) d.close();
    }
  });
  document.addEventListener("input", function (e) {
    var el = e.target;
    if (!el.hasAttribute || !el.hasAttribute("data-confirm-text")) return;
    var ok = el.value.trim() === el.getAttribute("data-confirm-text");
    var form = el.closest("form");
    if (form) form.querySelectorAll("[data-needs-confirm-text]").forEach(function (b) { b.disabled = !ok; });
  });

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

  // copied shows on a copy button that its text is on the clipboard.
  function copied(el) {
    el.classList.add("copied");
    if (el.classList.contains("icon-button")) {
      // An icon keeps its picture; the tooltip and label say it.
      var title = el.getAttribute("title"), aria = el.getAttribute("aria-label");
      el.setAttribute("title", "Copied");
      el.setAttribute("aria-label", "Copied");
      setTimeout(function () { el.setAttribute("title", title); el.setAttribute("aria-label", aria); el.classList.remove("copied"); }, 1500);
      return;
    }
    var label = el.textContent;
    el.textContent = "Copied";
    setTimeout(function () { el.textContent = label; el.classList.remove("copied"); }, 1500);
  }

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
      // data-copy-url: the text is fetched when asked for (a license code
      // the list only shows masked), as the fragment of that URL.
      var url = el.getAttribute("data-copy-url");
      if (url && navigator.clipboard) {
        var got = fetch(url, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
          .then(function (html) { return new DOMParser().parseFromString(html, "text/html").body.textContent.trim(); });
        // ClipboardItem takes the pending text, so the copy still counts as
        // part of the click.
        var done = window.ClipboardItem
          ? navigator.clipboard.write([new ClipboardItem({ "text/plain": got.then(function (t) { return new Blob([t], { type: "text/plain" }); }) })])
          : got.then(function (t) { return navigator.clipboard.writeText(t); });
        done.then(function () { copied(el); }, function () { /* nothing copied */ });
        return;
      }
      if (!text || !navigator.clipboard) return;
      navigator.clipboard.writeText(text.trim()).then(function () { copied(el); });
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

  // ---- Error summary after a refused form (422) ------------------------
  // A form drawn with field errors (<small class="field-error" id=…>,
  // named by its control's aria-describedby) gets a summary at its top
  // listing each field by its label with its message, linked to the
  // field; the summary is scrolled into view and the first invalid field
  // takes the focus, so the errors are never left off-screen.
  // A group of boxes names its error on its fieldset, whose legend is its
  // label; a control inside that names the error too (a CAPTCHA's answer)
  // is the field.
  function fieldOf(form, error) {
    var named = [].slice.call(form.querySelectorAll('[aria-describedby~="' + error.id + '"]'));
    var ctl = named.filter(function (el) { return el.tagName !== "FIELDSET"; })[0] || named[0];
    if (ctl) return ctl;
    var field = error.closest(".field");
    return field && field.querySelector("input, select, textarea");
  }
  function labelOf(form, ctl) {
    var label = ctl && ctl.id && form.querySelector('label[for="' + ctl.id + '"]');
    if (!label && ctl && ctl.tagName === "FIELDSET") label = ctl.querySelector("legend");
    if (!label && ctl) label = ctl.closest("label");
    var text = label ? label.textContent : "";
    return text.replace(/\*/g, "").replace(/\s+/g, " ").trim();
  }
  function summarizeErrors(root) {
    var forms = root.matches && root.matches("form") ? [root] : [].slice.call(root.querySelectorAll("form"));
    var focused = false;
    forms.forEach(function (form) {
      if (form.querySelector(".error-summary[data-generated]")) return;
      var errors = [].slice.call(form.querySelectorAll("small.field-error[id]")).filter(function (el) { return el.textContent.trim() !== ""; });
      if (errors.length === 0) return;
      var box = document.createElement("div");
      box.className = "error-summary";
      box.setAttribute("role", "alert");
      box.setAttribute("tabindex", "-1");
      box.setAttribute("data-generated", "");
      var h = document.createElement("h2");
      h.textContent = errors.length === 1 ? "Please correct this field:" : "Please correct these " + errors.length + " fields:";
      box.appendChild(h);
      var list = document.createElement("ul");
      var first = null;
      errors.forEach(function (err) {
        var ctl = fieldOf(form, err);
        if (ctl && !first) first = ctl;
        var li = document.createElement("li");
        var a = document.createElement("a");
        var name = labelOf(form, ctl);
        a.textContent = (name ? name + ": " : "") + err.textContent.trim();
        if (ctl && ctl.id) {
          a.href = "#" + ctl.id;
          a.setAttribute("data-focus-field", ctl.id);
        }
        li.appendChild(a);
        list.appendChild(li);
      });
      box.appendChild(list);
      var at = form.querySelector(':scope > :not(input[type="hidden"])');
      form.insertBefore(box, at);
      if (focused) return;
      focused = true;
      box.scrollIntoView({ block: "start" });
      if (first) {
        var r = first.getBoundingClientRect();
        first.focus({ preventScroll: r.top >= 0 && r.bottom <= window.innerHeight });
      } else {
        box.focus();
      }
    });
  }
  // The summary's links focus their field (an in-page link would only
  // scroll, and under hx-boost it would be a navigation).
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-focus-field]");
    if (!a) return;
    var ctl = document.getElementById(a.getAttribute("data-focus-field"));
    if (!ctl) return;
    e.preventDefault();
    e.stopPropagation();
    ctl.scrollIntoView({ block: "center" });
    ctl.focus({ preventScroll: true });
  }, true);
  document.addEventListener("DOMContentLoaded", function () { summarizeErrors(document.getElementById("content") || document.body); });
  document.addEventListener("htmx:afterSwap", function (e) {
    var t = e.detail && e.detail.target;
    var xhr = e.detail && e.detail.xhr;
    if (!t || !xhr || xhr.status !== 422) return;
    // hx-swap="outerHTML" replaced the target: look where it was.
    var root = t.isConnected ? t : (e.detail.elt && e.detail.elt.isConnected ? e.detail.elt : document.getElementById("content"));
    if (root) summarizeErrors(root.closest("form") || root);
  });

  // ---- Fields shown only when they apply --------------------------------
  // <div data-show-when="name=value"> (or "name!=value"; values may be
  // "a|b") is shown only while the form's control name has (or has not)
  // that value; a field with an error stays shown.
  function controlValue(form, name) {
    var ctl = form.querySelector('[name="' + name + '"]:not([type=hidden])');
    if (!ctl) return null;
    if (ctl.type === "radio") {
      var on = form.querySelector('[name="' + name + '"]:checked');
      return on ? on.value : "";
    }
    if (ctl.type === "checkbox") return ctl.checked ? ctl.value : "";
    return ctl.value;
  }
  function applyShowWhen(root) {
    (root || document).querySelectorAll("[data-show-when]").forEach(function (el) {
      var rule = el.getAttribute("data-show-when");
      var m = /^([^!=]+)(!?=)(.*)$/.exec(rule);
      var form = el.closest("form");
      if (!m || !form) return;
      var v = controlValue(form, m[1]);
      if (v === null) return;
      var match = m[3].split("|").indexOf(v) >= 0;
      el.hidden = (m[2] === "=" ? !match : match) && !el.querySelector(".field-error");
    });
  }
  document.addEventListener("change", function (e) {
    if (e.target.form && e.target.form.querySelector("[data-show-when]")) applyShowWhen(e.target.form);
  });
  document.addEventListener("DOMContentLoaded", function () { applyShowWhen(document); });
  document.addEventListener("htmx:afterSettle", function () { applyShowWhen(document); });

  // ---- Global search (Ctrl/⌘+K) --------------------------------------
  // The header's Search link opens #search-dialog; its input loads the
  // results as it is typed (htmx). Arrow keys move through the results,
  // Enter opens the highlighted one (the first by default), Escape closes.
  function openSearch() {
    var dialog = document.getElementById("search-dialog");
    if (!dialog) return false;
    dialog.removeAttribute("data-opening");
    openDialog(dialog);
    var input = dialog.querySelector("input[name=q]");
    if (input) { input.focus(); input.select(); }
    return true;
  }
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && (e.key === "k" || e.key === "K")) {
      if (openSearch()) e.preventDefault();
    }
  });
  document.addEventListener("click", function (e) {
    var link = e.target.closest && e.target.closest("[data-open-search]");
    if (!link) return;
    if (openSearch()) { e.preventDefault(); e.stopPropagation(); }
  }, true);
  function searchHits(dialog) { return [].slice.call(dialog.querySelectorAll("[data-search-hit]")); }
  function markHit(dialog, hit) {
    searchHits(dialog).forEach(function (h) { h.classList.toggle("active", h === hit); h.removeAttribute("aria-current"); });
    if (hit) { hit.setAttribute("aria-current", "true"); hit.scrollIntoView({ block: "nearest" }); }
  }
  document.addEventListener("keydown", function (e) {
    var dialog = e.target.closest && e.target.closest("#search-dialog");
    if (!dialog) return;
    // Escape closes at once (in a search box it would first clear it).
    if (e.key === "Escape") { e.preventDefault(); dialog.close(); return; }
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    var hits = searchHits(dialog);
    var current = dialog.querySelector("[data-search-hit].active");
    var i = hits.indexOf(current);
    if (hits.length === 0) return;
    e.preventDefault();
    i = e.key === "ArrowDown" ? (i + 1) % hits.length : (i <= 0 ? hits.length - 1 : i - 1);
    markHit(dialog, hits[i]);
    if (e.target.matches("[data-search-hit]")) hits[i].focus();
  });
  // Enter in the search box submits its form: with results, it opens
  // the highlighted one (the first by default) instead of the search page.
  document.addEventListener("submit", function (e) {
    var dialog = e.target.closest && e.target.closest("#search-dialog");
    if (!dialog) return;
    var go = dialog.querySelector("[data-search-hit].active") || searchHits(dialog)[0];
    if (!go) return;
    e.preventDefault();
    e.stopImmediatePropagation();
    dialog.close();
    go.click();
  }, true);
  // While a hit opens, its results stay as they are. Enter also fires the
  // box's "search" event, and a typed query may still be on its delay:
  // were that search to answer first and replace the results, htmx would
  // forget that the clicked link was boosted, and draw its page without
  // putting its URL in the address bar.
  document.addEventListener("click", function (e) {
    var hit = e.target.closest && e.target.closest("#search-dialog [data-search-hit]");
    // A click with a modifier opens a new tab, and this page stays.
    if (!hit || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    hit.closest("dialog").setAttribute("data-opening", "");
  }, true);
  document.addEventListener("htmx:beforeRequest", function (e) {
    var elt = e.detail && e.detail.elt;
    if (elt && elt.id === "global-search" && elt.closest("[data-opening]")) e.preventDefault();
  });
  document.addEventListener("htmx:beforeSwap", function (e) {
    var t = e.detail && e.detail.target;
    if (t && t.id === "global-search-results" && t.closest("[data-opening]")) e.detail.shouldSwap = false;
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    var t = e.detail && e.detail.target;
    if (t && t.id === "global-search-results") {
      var dialog = t.closest("dialog"), hits = searchHits(dialog);
      markHit(dialog, hits[0]);
    }
  });

  // Success messages fade out on their own; errors stay until dismissed.
  function autoDismiss(root) {
    root.querySelectorAll(".flash-success:not([data-timed]), .flash-info:not([data-timed])").forEach(function (box) {
      box.setAttribute("data-timed", "");
      // An Undo stays long enough to be read and reached.
      var wait = box.classList.contains("flash-undo") ? 20000 : 5000;
      setTimeout(function () { box.classList.add("fade"); }, wait);
      setTimeout(function () { box.remove(); }, wait + 600);
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
