// Upload progress for <form data-upload-progress> (the console's version
// form). The form is sent with XMLHttpRequest so its <progress> can follow
// the upload; the CSRF token goes in the X-CSRF-Token header, so the
// server streams the body instead of parsing it whole to find _csrf.
// Without JavaScript the form posts normally.
(function () {
  "use strict";

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-upload-progress") || e.defaultPrevented) {
      return;
    }
    if (!window.XMLHttpRequest || !window.FormData) {
      return;
    }
    e.preventDefault();
    var bar = form.querySelector(".upload-progress");
    var status = form.querySelector(".upload-status");
    var button = form.querySelector('[type="submit"]');
    var token = form.querySelector('input[name="_csrf"]');
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    if (token) {
      xhr.setRequestHeader("X-CSRF-Token", token.value);
    }
    if (bar) {
      bar.hidden = false;
      bar.value = 0;
    }
    if (button) {
      button.disabled = true;
    }
    xhr.upload.addEventListener("progress", function (ev) {
      if (!ev.lengthComputable) {
        return;
      }
      var pct = Math.round((ev.loaded / ev.total) * 100);
      if (bar) {
        bar.value = pct;
      }
      if (status) {
        status.textContent = pct < 100 ? "Uploading… " + pct + "%" : "Checking and storing the files…";
      }
    });
    xhr.addEventListener("load", function () {
      // Success redirects to the version's page, which XHR has followed.
      if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL);
        return;
      }
      // A refused form comes back with the messages next to the fields.
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var fresh = form.id && doc.getElementById(form.id);
      if (fresh) {
        form.replaceWith(fresh);
        return;
      }
      done("The upload failed (HTTP " + xhr.status + "). Reload the page and try again.");
    });
    xhr.addEventListener("error", function () {
      done("The upload failed: the connection was lost.");
    });
    function done(msg) {
      if (button) {
        button.disabled = false;
      }
      if (bar) {
        bar.hidden = true;
      }
      if (status) {
        status.textContent = msg;
      }
    }
    xhr.send(new FormData(form));
  });
})();
