// The result entry page keeps what was typed across a reload (a phone that drops the tab,
// a deleted attachment, a lost connection): every change copies the form's fields to
// sessionStorage (this tab only, under a key naming the user and the visit), and the page
// shown again gets the copy back, with a notice. A copy is only put back over the saved
// state it was typed on (data-draft-base, a fingerprint of what the server has saved): once
// the draft is saved (data-draft-saved right after 保存) or the record changed, it is
// dropped; so it is when the record can no longer be edited. A page showing input the server
// refused (data-draft-unsaved) keeps it as a draft at once. Chosen files cannot be kept.
(function () {
  var page = document.querySelector(".result-page[data-draft-key]");
  var store;
  try { store = window.sessionStorage; } catch (e) { return; }
  if (!page || !store) { return; }
  var key = page.getAttribute("data-draft-key");
  var form = document.getElementById("result-form");
  if (!form) { store.removeItem(key); return; }

  var SKIP = ["file", "hidden", "submit", "button", "reset"];
  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && SKIP.indexOf(el.type) < 0;
    });
  }
  function isBox(el) { return el.type === "checkbox" || el.type === "radio"; }
  // The form's state; rendered=true reads what the server rendered, not what is on screen.
  function read(rendered) {
    var state = { checked: [], values: {} };
    fields().forEach(function (el) {
      if (isBox(el)) {
        if (rendered ? el.defaultChecked : el.checked) { state.checked.push(el.name + "=" + el.value); }
      } else {
        state.values[el.name] = rendered ? el.defaultValue : el.value;
      }
    });
    state.checked.sort();
    return state;
  }
  function write(state) {
    fields().forEach(function (el) {
      if (isBox(el)) {
        el.checked = state.checked.indexOf(el.name + "=" + el.value) >= 0;
      } else if (Object.prototype.hasOwnProperty.call(state.values, el.name)) {
        el.value = state.values[el.name];
      }
    });
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  var base = page.getAttribute("data-draft-base");
  var unsaved = page.hasAttribute("data-draft-unsaved");
  var justSaved = page.hasAttribute("data-draft-saved");
  var shown = read(true);
  var kept = null;
  try { kept = JSON.parse(store.getItem(key) || "null"); } catch (e) { kept = null; }
  if (unsaved) {
    keep();
  } else if (!justSaved && kept && kept.base === base && kept.state && !same(kept.state, shown)) {
    write(kept.state);
    var notice = document.createElement("div");
    notice.className = "alert alert-info";
    notice.id = "draft-restored";
    notice.setAttribute("role", "status");
    notice.appendChild(document.createTextNode("已恢复本页上次未保存的输入，请核对后点“保存”。 "));
    var drop = document.createElement("button");
    drop.type = "button";
    drop.className = "link";
    drop.id = "draft-discard";
    drop.textContent = "放弃这些输入";
    drop.addEventListener("click", function () {
      store.removeItem(key);
      write(shown);
      notice.remove();
    });
    notice.appendChild(drop);
    form.parentNode.insertBefore(notice, form);
  } else {
    store.removeItem(key);
  }

  function keep() {
    var now = read(false);
    try {
      if (!unsaved && same(now, shown)) { store.removeItem(key); }
      else { store.setItem(key, JSON.stringify({ base: base, state: now })); }
    } catch (e) { /* storage full or disabled: the form still works */ }
  }
  form.addEventListener("input", keep);
  form.addEventListener("change", keep);
})();
