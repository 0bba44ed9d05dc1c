// Leadflow's few behaviours that plain HTML lacks. Every page still works without them.
(function () {
  "use strict";

  // Filter chips: picking a value applies it at once (the form also has a submit button).
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.requestSubmit ? el.form.requestSubmit() : el.form.submit();
    }
  });

  // Menus made of <details>: close when clicking elsewhere or pressing Escape.
  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (d) {
      if (d !== except) d.removeAttribute("open");
    });
  }
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest ? event.target.closest("details[data-menu]") : null);
    var search = document.getElementById("global-search");
    if (search && !search.contains(event.target)) {
      var results = document.getElementById("search-results");
      if (results) results.innerHTML = "";
    }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      closeMenus(null);
      var results = document.getElementById("search-results");
      if (results) results.innerHTML = "";
    }
    // "/" jumps to the global search, as in most tools people already use.
    var tag = (event.target.tagName || "").toLowerCase();
    if (event.key === "/" && !event.metaKey && !event.ctrlKey &&
        tag !== "input" && tag !== "textarea" && tag !== "select" && !event.target.isContentEditable) {
      var box = document.getElementById("global-search-input");
      if (box) { event.preventDefault(); box.focus(); box.select(); }
    }
  });

  // htmx sends Django's CSRF token with every non-GET request.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector("meta[name=csrf-token]");
    if (token) event.detail.headers["X-CSRFToken"] = token.content;
  });
})();
