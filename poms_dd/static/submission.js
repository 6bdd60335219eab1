// The submission page updates itself while a launch is in progress: it asks the JSON API for the status every
// two seconds and reloads the page when the status changes (no inline script; the CSP allows our own files).
(function () {
  "use strict";
  var box = document.getElementById("submission");
  if (!box) { return; }
  var status = box.getAttribute("data-status");
  var url = box.getAttribute("data-url");
  var active = { queued: true, launching: true };
  if (!active[status] || !window.fetch) { return; }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (doc) {
        if (doc && doc.status !== status) { window.location.reload(); return; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
}());
