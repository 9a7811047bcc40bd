// Behaviour for every page; no inline scripts (the CSP forbids them).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); return; }
  if (form.querySelector("#logout")) {
    // Unsaved result entries (js/result-draft.js) do not outlive the session in this tab.
    try {
      Object.keys(window.sessionStorage).forEach(function (key) {
        if (key.indexOf("result-draft:") === 0) { window.sessionStorage.removeItem(key); }
      });
    } catch (e) { /* storage disabled */ }
  }
});
document.querySelectorAll("[data-back]").forEach(function (link) {
  link.addEventListener("click", function (event) {
    if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
  });
});
(function pollTask() {
  var box = document.getElementById("task");
  if (!box) { return; }
  var status = box.getAttribute("data-status");
  if (status === "done" || status === "failed") { return; }
  var labels = { queued: "排队中", running: "运行中", done: "已完成", failed: "失败" };
  function tick() {
    fetch(box.getAttribute("data-url"), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (task) {
        document.getElementById("task-status").textContent = labels[task.status] || task.status;
        document.getElementById("task-message").textContent = task.message || "";
        var bar = document.getElementById("task-progress");
        bar.max = task.progress_total || 1;
        bar.value = task.progress_total ? task.progress_done : (task.status === "done" ? 1 : 0);
        if (task.status === "done" || task.status === "failed") { window.location.reload(); }
        else { window.setTimeout(tick, 1000); }
      })
      .catch(function () { window.setTimeout(tick, 3000); });
  }
  window.setTimeout(tick, 500);
})();
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
// Form errors: a control whose field has an error is marked aria-invalid and described by the
// message (colour is never the only cue). Messages beside the field come first, then the summary.
(function markInvalid() {
  function mark(note) {
    var field = note.getAttribute("data-field");
    document.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (control) {
      if (control.getAttribute("name") !== field || control.type === "hidden") { return; }
      if (control.getAttribute("aria-invalid") === "true") { return; }
      control.setAttribute("aria-invalid", "true");
      var ids = (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      ids.push(note.id);
      control.setAttribute("aria-describedby", ids.join(" "));
    });
  }
  document.querySelectorAll(".field-error[data-field][id]").forEach(mark);
  document.querySelectorAll("#form-error li[data-field][id]").forEach(mark);
})();
// A submit button may ask its own question (data-confirm on the button, e.g. 通过并公示):
// the other buttons of the same form go ahead without one.
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  var question = button && button.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); }
});
// A wide table on a narrow screen scrolls sideways (site.css): make that scrolling region
// reachable by keyboard and named, as WCAG asks, only when it does overflow.
(function scrollableTables() {
  function mark() {
    document.querySelectorAll(".content table").forEach(function (table) {
      var scrolls = table.scrollWidth > table.clientWidth + 1 && getComputedStyle(table).overflowX === "auto";
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.setAttribute("data-scrolls", "");
        var heading = table.previousElementSibling;
        var caption = table.querySelector("caption");
        var title = document.querySelector("h1");
        var name = heading && /^H[1-6]$/.test(heading.tagName) ? heading.textContent : (title ? title.textContent : "表格");
        if (!table.hasAttribute("aria-label") && !caption) { table.setAttribute("aria-label", name.trim() + "（可左右滚动）"); }
      } else if (!scrolls && table.hasAttribute("data-scrolls")) {
        table.removeAttribute("tabindex");
        table.removeAttribute("data-scrolls");
      }
    });
  }
  mark();
  window.addEventListener("resize", mark);
})();
