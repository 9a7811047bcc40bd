// The ceremony view: a live count of the dice digits typed in (no inline scripts: the CSP).
document.querySelectorAll("input.digits").forEach(function (input) {
  var note = document.querySelector('.digit-count[data-for="' + input.name + '"]');
  if (!note) { return; }
  var min = parseInt(input.getAttribute("data-min"), 10) || 20;
  function update() {
    var value = input.value;
    var digits = value.replace(/[^0-9]/g, "").length;
    note.querySelector(".count").textContent = String(digits);
    var bad = /[^0-9]/.test(value);
    note.classList.toggle("bad", bad || digits < min);
    note.classList.toggle("good", !bad && digits >= min);
    input.setCustomValidity(bad ? "只能输入数字 0–9" : (digits < min ? "至少需要 " + min + " 位数字" : ""));
  }
  input.addEventListener("input", update);
  update();
});
