/* How far a long job has got, without reloading the page: every run page includes
   templates/_progress.html, a fragment that names its own URL (data-progress-url) and the run's state
   (data-state). While the run is queued or running this script fetches the fragment every 2 s and
   swaps it in place; it stops once the run is done, rejected or failed. Loaded as a file with the
   page's CSP nonce (no inline script); without it the fragment says to reload the page. */
(function () {
  "use strict";
  var EVERY_MS = 2000;
  var LIVE = { queued: true, running: true };

  function live(box) {
    return LIVE.hasOwnProperty(box.getAttribute("data-state"));
  }

  function fragmentOf(html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    return holder.content.querySelector("[data-progress-url]");
  }

  function poll(box) {
    if (!live(box)) { return; }
    window.setTimeout(function () {
      fetch(box.getAttribute("data-progress-url"), {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Accept": "text/html", "X-Requested-With": "fetch" }
      }).then(function (response) {
        if (response.status === 403 || response.status === 404) { return null; } // no longer ours: stop
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      }).then(function (html) {
        if (html === null) { return; }
        var next = fragmentOf(html);
        if (!next) { return; }
        box.replaceWith(next);
        poll(next);
      }).catch(function () {
        poll(box); // a lost signal or a busy server: try again at the next tick
      });
    }, EVERY_MS);
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-progress-url]"), poll);
}());
