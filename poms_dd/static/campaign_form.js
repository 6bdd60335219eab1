/* Campaign form: show the fields of the chosen data handling service, disable the others (no reload). */
(function () {
  "use strict";
  var select = document.getElementById("data_handling_service");
  if (!select) { return; }
  function apply() {
    document.querySelectorAll("[data-service]").forEach(function (section) {
      var on = section.getAttribute("data-service") === select.value;
      section.hidden = !on;
      section.querySelectorAll("input, select, textarea").forEach(function (input) { input.disabled = !on; });
    });
  }
  select.addEventListener("change", apply);
  apply();
}());
