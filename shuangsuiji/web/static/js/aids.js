// The public site's reading aids: 大字版 (larger text) and 高对比度 (high contrast).
// Loaded in <head> so a remembered choice applies before the page is drawn; the choice stays in
// this browser (localStorage) and nothing is sent to the server. No inline script: the CSP forbids it.
(function () {
  var KEYS = { large: "aid-large", contrast: "aid-contrast" };
  var root = document.documentElement;
  function stored(name) {
    try { return window.localStorage.getItem("ssj:" + KEYS[name]) === "1"; } catch (e) { return false; }
  }
  function store(name, on) {
    try { window.localStorage.setItem("ssj:" + KEYS[name], on ? "1" : "0"); } catch (e) { /* storage disabled */ }
  }
  Object.keys(KEYS).forEach(function (name) {
    if (stored(name)) { root.classList.add(KEYS[name]); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-aid]").forEach(function (button) {
      var name = button.getAttribute("data-aid");
      if (!KEYS[name]) { return; }
      button.setAttribute("aria-pressed", root.classList.contains(KEYS[name]) ? "true" : "false");
      button.hidden = false;
      button.addEventListener("click", function () {
        var on = !root.classList.contains(KEYS[name]);
        root.classList.toggle(KEYS[name], on);
        button.setAttribute("aria-pressed", on ? "true" : "false");
        store(name, on);
      });
    });
  });
})();
