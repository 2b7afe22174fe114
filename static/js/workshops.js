// Workshops: more rows in the entry table without reloading, and the print buttons.
// Everything works without JavaScript (the "more rows" button then posts the table back, rows kept).
(function () {
  "use strict";

  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });

  // A territory chosen on the new-workshop page shows that territory's companies.
  document.querySelectorAll("[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
    var button = select.form.querySelector("[data-autosubmit-button]");
    if (button) { button.hidden = true; }
  });

  var table = document.querySelector("[data-entry-table]");
  if (!table) { return; }
  var template = document.getElementById("entry-row-template");
  var more = document.querySelector("[data-more-rows]");
  var max = parseInt(table.getAttribute("data-max-rows"), 10) || 200;
  var step = parseInt(table.getAttribute("data-more-rows-count"), 10) || 10;

  function rows() { return table.querySelectorAll("tbody.entry"); }

  function lastCompany() {
    var all = rows();
    for (var i = all.length - 1; i >= 0; i--) {
      var select = all[i].querySelector("select[name$='-company_id']");
      if (select && select.value) { return select.value; }
    }
    return "";
  }

  function addRow() {
    var index = rows().length;
    if (index >= max) { return false; }
    var html = template.innerHTML.replace(/__index__/g, String(index)).replace(/__number__/g, String(index + 1));
    table.insertAdjacentHTML("beforeend", html);
    var added = rows()[index];
    // Most rows of a workshop follow the company of the row above: start from it.
    var company = added.querySelector("select[name$='-company_id']");
    var previous = lastCompany();
    if (company && previous) { company.value = previous; }
    return added;
  }

  // Enter in a cell goes to the same cell of the next row (as in a spreadsheet) rather than submitting.
  table.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.key !== "Enter" || target.tagName !== "INPUT") { return; }
    event.preventDefault();
    var match = /^rows-(\d+)-(\w+)$/.exec(target.name || "");
    if (!match) { return; }
    var next = table.querySelector("[name='rows-" + (parseInt(match[1], 10) + 1) + "-" + match[2] + "']");
    if (!next && rows().length < max) {
      addRow();
      next = table.querySelector("[name='rows-" + (parseInt(match[1], 10) + 1) + "-" + match[2] + "']");
    }
    if (next) { next.focus(); }
  });

  if (more && template) {
    more.addEventListener("click", function (event) {
      event.preventDefault();
      var first = null;
      for (var i = 0; i < step; i++) {
        var added = addRow();
        if (!added) { break; }
        first = first || added;
      }
      if (rows().length >= max) { more.disabled = true; }
      if (first) {
        var focus = first.querySelector("input[name$='-title']");
        if (focus) { focus.focus(); }
      }
    });
  }
})();
