/* Appraisal pages: copy a representative's link, confirm "finalize all", print the report.
   Loaded as a file with the page's CSP nonce; the pages work without it. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var input = document.getElementById(copy.getAttribute("data-copy"));
      if (!input) { return; }
      input.select();
      var done = function () { copy.textContent = copy.getAttribute("data-copied") || copy.textContent; };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
      return;
    }
    if (event.target.closest("[data-print]")) { window.print(); }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });
})();
