// Capture's builders: add, remove and move rows of a formset, show the inputs a row's type
// uses, fill a field's key from its label, copy snippets, confirm deletions.
// Every page still works without it (rows are ordered by their number, removed by a tick).
(function () {
  "use strict";

  function renumber(list) {
    var n = 0;
    list.querySelectorAll("[data-row]").forEach(function (row) {
      var order = row.querySelector("[data-role=order]");
      if (order) order.value = n++;
      var index = row.querySelector("[data-row-index]");
      if (index) index.textContent = n;
    });
  }

  function showFor(row) {
    var select = row.querySelector("[data-role=field-kind], [data-role=block-type]");
    if (!select) return;
    row.querySelectorAll("[data-show-for]").forEach(function (el) {
      var kinds = el.getAttribute("data-show-for").split(" ");
      el.hidden = kinds.indexOf(select.value) === -1;
    });
    var kindLabel = row.querySelector("[data-row-kind]");
    if (kindLabel) kindLabel.textContent = select.options[select.selectedIndex].text;
  }

  function toKey(text) {
    var key = text.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (key && !/^[a-z]/.test(key)) key = "f_" + key;
    return key.slice(0, 64);
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var prefix = add.getAttribute("data-add-row");
      var list = document.getElementById(prefix + "-rows");
      var template = document.getElementById(prefix + "-empty");
      var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
      var index = parseInt(total.value, 10);
      var holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__prefix__/g, index);
      var row = holder.firstElementChild;
      list.appendChild(row);
      total.value = index + 1;
      var empty = document.getElementById(prefix + "-none");
      if (empty) empty.hidden = true;
      renumber(list);
      showFor(row);
      var first = row.querySelector("input[type=text], textarea, select");
      if (first) first.focus();
      return;
    }
    var move = event.target.closest("[data-move]");
    if (move) {
      var current = move.closest("[data-row]");
      var sibling = move.getAttribute("data-move") === "up"
        ? current.previousElementSibling : current.nextElementSibling;
      if (sibling && sibling.hasAttribute("data-row")) {
        if (move.getAttribute("data-move") === "up") current.parentNode.insertBefore(current, sibling);
        else current.parentNode.insertBefore(sibling, current);
        renumber(current.parentNode);
        move.focus();
      }
      return;
    }
    var copy = event.target.closest("[data-copy]");
    if (copy) {
      var source = document.getElementById(copy.getAttribute("data-copy"));
      var text = source.value !== undefined ? source.value : source.textContent;
      var done = function () {
        var label = copy.querySelector("[data-copy-label]") || copy;
        var before = label.textContent;
        label.textContent = "Copied";
        copy.classList.add("copied");
        setTimeout(function () { label.textContent = before; copy.classList.remove("copied"); }, 1600);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done);
      } else {
        var area = document.createElement("textarea");
        area.value = text; document.body.appendChild(area); area.select();
        try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
        area.remove(); done();
      }
    }
  });

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches("[data-role=field-kind], [data-role=block-type]")) showFor(el.closest("[data-row]"));
    if (el.matches("[data-remove]")) el.closest("[data-row]").classList.toggle("is-removed", el.checked);
  });

  document.addEventListener("input", function (event) {
    var el = event.target;
    var row = el.closest && el.closest("[data-row]");
    if (!row) return;
    if (el.matches("[data-role=field-label]")) {
      var key = row.querySelector("[data-role=field-name]");
      if (key && (key.value === "" || key.dataset.auto === "1")) {
        key.value = toKey(el.value);
        key.dataset.auto = "1";
      }
      var title = row.querySelector("[data-row-title]");
      if (title) title.textContent = el.value || "New field";
    }
    if (el.matches("[data-role=field-name]")) el.dataset.auto = "0";
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.querySelectorAll("[data-row]").forEach(showFor);
})();
