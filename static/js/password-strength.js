// Password strength meter: a progressive enhancement of every
// <input type="password" data-strength data-min="10">. Without JavaScript
// the server still enforces every rule; with it, a meter and a text such as
// "Strength: weak" (announced politely to screen readers) follow the field.
// The estimate is rough on purpose: the server's common-password list is
// what refuses weak choices.
(function () {
  "use strict";

  var labels = ["too short", "weak", "fair", "good", "strong"];

  function score(pw, min) {
    if (pw.length === 0) return -1;
    if (pw.length < min) return 0;
    var classes = 0;
    if (/[a-z]/.test(pw)) classes++;
    if (/[A-Z]/.test(pw)) classes++;
    if (/[0-9]/.test(pw)) classes++;
    if (/[^A-Za-z0-9]/.test(pw)) classes++;
    var unique = {};
    for (var i = 0; i < pw.length; i++) unique[pw[i]] = true;
    var distinct = Object.keys(unique).length;
    var s = 1;
    if (pw.length >= min + 4 || classes >= 3) s++;
    if (pw.length >= min + 8 || (classes >= 3 && pw.length >= min + 2)) s++;
    if (distinct < 5) s = Math.min(s, 1);
    return Math.min(s, 4);
  }

  function attach(input) {
    if (input.dataset.strengthReady) return;
    input.dataset.strengthReady = "1";
    var min = parseInt(input.getAttribute("data-min") || input.getAttribute("minlength") || "8", 10);
    var wrap = document.createElement("div");
    wrap.className = "strength";
    var meter = document.createElement("meter");
    meter.min = 0; meter.max = 4; meter.low = 2; meter.high = 3; meter.optimum = 4; meter.value = 0;
    meter.setAttribute("aria-hidden", "true");
    var text = document.createElement("small");
    text.id = (input.id || "password") + "-strength";
    text.setAttribute("aria-live", "polite");
    text.className = "strength-text";
    wrap.appendChild(meter);
    wrap.appendChild(text);
    input.insertAdjacentElement("afterend", wrap);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + text.id);
    function update() {
      var s = score(input.value, min);
      meter.value = Math.max(s, 0);
      text.textContent = s < 0 ? "" : "Strength: " + labels[s];
      wrap.setAttribute("data-score", String(s));
    }
    input.addEventListener("input", update);
    update();
  }

  function scan(root) {
    var inputs = (root || document).querySelectorAll("input[type=password][data-strength]");
    for (var i = 0; i < inputs.length; i++) attach(inputs[i]);
  }

  // CAPTCHA image reload: <button data-captcha-reload="img-id"> asks the
  // server for new digits under the same challenge id.
  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("[data-captcha-reload]");
    if (!btn) return;
    var img = document.getElementById(btn.getAttribute("data-captcha-reload"));
    if (!img) return;
    e.preventDefault();
    var base = img.getAttribute("src").split("?")[0];
    img.setAttribute("src", base + "?reload=" + Date.now());
  });

  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  document.addEventListener("htmx:load", function (e) { scan(e.target); });
})();
