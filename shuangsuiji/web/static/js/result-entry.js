// Result entry: warn at once when the check date chosen lies outside the task's fieldwork
// window (the server keeps such a date and shows the same warning; a date after today is
// refused there and by the input's max).
(function () {
  var input = document.getElementById("checked-on");
  var warning = document.getElementById("checked-on-warning");
  if (!input || !warning) { return; }
  var start = input.getAttribute("data-start");
  var end = input.getAttribute("data-end");
  var today = input.getAttribute("max");
  function check() {
    var day = input.value;  // YYYY-MM-DD: compares as text
    var message = "";
    if (day && today && day > today) {
      message = "检查日期不能晚于今天（" + today + "）";
    } else if (day && ((start && day < start) || (end && day > end))) {
      message = "检查日期 " + day + " 不在本任务的检查时间（" + (start || "不限") + " 至 " +
        (end || "不限") + "）内，请核对";
    }
    warning.textContent = message;
    warning.hidden = !message;
  }
  input.addEventListener("change", check);
  input.addEventListener("input", check);
  check();
})();
