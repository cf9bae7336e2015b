// Fills the forms' device_time with the phone's clock (ISO 8601 with its offset) when sent.
document.addEventListener("submit", function (event) {
  var input = event.target.querySelector("input[name=device_time]");
  if (input) { input.value = new Date().toISOString(); }
}, true);
