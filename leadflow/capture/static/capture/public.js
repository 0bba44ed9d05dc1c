// Public pages: tell an embedding page how tall the form is, so its iframe fits.
(function () {
  "use strict";
  if (window.parent === window) return;
  function report() {
    window.parent.postMessage({ lf: "height", value: document.documentElement.scrollHeight }, "*");
  }
  window.addEventListener("load", report);
  new ResizeObserver(report).observe(document.body);
})();
