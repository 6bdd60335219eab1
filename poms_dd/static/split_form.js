/* Stage form: checks the typed split type through poms_dd's own parser while it is typed (debounced), and shows
   its canonical form and help, or the parser's message.  The form is still checked when it is saved. */
(function () {
  "use strict";
  if (!window.fetch) { return; }
  document.querySelectorAll("[data-split-check]").forEach(function (box) {
    var input = document.getElementById(box.getAttribute("data-split-check"));
    var url = box.getAttribute("data-url");
    if (!input || !url || input.disabled) { return; }
    var timer = null;
    var asked = 0;
    function line(text, className) {
      var div = document.createElement("div");
      div.className = className;
      div.textContent = text;
      box.appendChild(div);
    }
    function show(answer) {
      box.textContent = "";
      if (!answer) { line("The split type could not be checked now; it is checked when the stage is saved.", "muted"); return; }
      if (!answer.valid) { line(answer.message, "field-error"); return; }
      if (!answer.kind) { line(answer.message, "field-help"); return; }
      line("\u2713 " + answer.text + (answer.text !== input.value.trim() ? " (as it will be saved)" : ""), "split-ok");
      line(answer.help || answer.description || "", "field-help");
      if (answer.drift_help) { line("When the query changes: " + answer.drift_help, "field-help"); }
      line("Stage query: " + answer.query_form, "field-help");
    }
    function check() {
      var mine = ++asked;
      var sep = url.indexOf("?") < 0 ? "?" : "&";
      fetch(url + sep + "text=" + encodeURIComponent(input.value), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (answer) { if (mine === asked) { show(answer); } })
        .catch(function () { if (mine === asked) { show(null); } });
    }
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(check, 350);
    });
    if (input.value.trim()) { check(); }
  });
}());
