/* The visit report form: add and remove follow-up rows, and keep a draft of what was typed in this
   browser (localStorage, keyed by the task) so a reload or a lost signal loses nothing. Loaded as a
   file with the page's CSP nonce; without it the page still works (empty rows, an "add" button that
   posts back, a delete box per row). */
(function () {
  "use strict";
  var form = document.querySelector("form[data-draft]");
  if (!form) { return; }
  var key = form.getAttribute("data-draft");
  var rows = form.querySelector("[data-rows]");
  var empty = form.querySelector("template[data-empty-row]");
  var total = form.querySelector("input[name$='-TOTAL_FORMS']");
  var prefix = total.name.replace(/-TOTAL_FORMS$/, "");
  var DAY = 24 * 60 * 60 * 1000;

  function store(value) {
    try {
      if (value === null) { localStorage.removeItem(key); } else { localStorage.setItem(key, JSON.stringify(value)); }
    } catch (e) { /* storage full or refused: the form still works */ }
  }

  function load(name) {
    try { return JSON.parse(localStorage.getItem(name) || "null"); } catch (e) { return null; }
  }

  // A row removed in the page is kept, hidden, with its DELETE box ticked: the server drops it, and
  // the numbering of the other rows stays as it was.
  function enhance(row) {
    var box = row.querySelector("[data-delete]");
    var remove = row.querySelector("[data-remove]");
    if (box) { box.hidden = true; }
    if (remove) { remove.hidden = false; }
    var ticked = row.querySelector("input[name$='-DELETE']");
    row.hidden = !!(ticked && ticked.checked);
  }

  function addRow() {
    var index = parseInt(total.value, 10) || 0;
    var html = empty.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var row = rows.lastElementChild;
    enhance(row);
    return row;
  }

  function snapshot() {
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrfmiddlewaretoken" || /-(TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS$/.test(el.name)) { return; }
      if (el.type === "radio") {
        if (el.checked) { fields[el.name] = el.value; }
      } else if (el.type === "checkbox") {
        fields[el.name] = el.checked;
      } else if (el.type !== "submit" && el.type !== "button") {
        fields[el.name] = el.value;
      }
    });
    return { rows: parseInt(total.value, 10) || 0, fields: fields, saved: Date.now() };
  }

  function restore(draft) {
    while ((parseInt(total.value, 10) || 0) < draft.rows) { addRow(); }
    Object.keys(draft.fields).forEach(function (name) {
      var value = draft.fields[name];
      Array.prototype.forEach.call(form.querySelectorAll("[name='" + name.replace(/'/g, "") + "']"), function (el) {
        if (el.type === "radio") { el.checked = el.value === value; }
        else if (el.type === "checkbox") { el.checked = !!value; }
        else { el.value = value; }
      });
    });
    Array.prototype.forEach.call(rows.querySelectorAll("[data-row]"), enhance); // removed rows hide again
  }

  // Drafts of other visits sent more than a day ago, or untouched for a month, are gone: a report
  // that went through closes its task, whose page then never loads again to clear its draft.
  function prune() {
    try {
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var name = localStorage.key(i);
        if (!name || name === key || name.indexOf("visit-report:") !== 0) { continue; }
        var other = load(name);
        var age = Date.now() - ((other && other.saved) || 0);
        if (!other || age > 30 * DAY || (other.sent && age > DAY)) { localStorage.removeItem(name); }
      }
    } catch (e) { /* no storage: nothing to prune */ }
  }

  Array.prototype.forEach.call(rows.querySelectorAll("[data-row]"), enhance);
  var add = form.querySelector("[data-add-row]");
  // In the page, "add" clones a row; it is no longer a submit button, so Enter saves the report.
  add.type = "button";
  add.addEventListener("click", function () {
    var row = addRow();
    var first = row.querySelector("select, input:not([type=hidden]), textarea");
    if (first) { first.focus(); }
    store(snapshot());
  });
  rows.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove] button");
    if (!button) { return; }
    var row = button.closest("[data-row]");
    row.querySelector("input[name$='-DELETE']").checked = true;
    row.hidden = true;
    store(snapshot());
  });

  var draft = load(key);
  if (form.hasAttribute("data-bound")) {
    store(snapshot()); // the server sent the form back (refused): what it shows is the draft now
  } else if (draft && draft.fields) {
    restore(draft); // the task is still open, so any earlier send did not go through
  }
  prune();

  form.addEventListener("input", function () { store(snapshot()); });
  form.addEventListener("change", function () { store(snapshot()); });
  form.addEventListener("submit", function () {
    // Kept until the server answers: a refusal draws the form again (saved anew above), a success
    // closes the task, and a lost connection leaves the draft for the next load of this page.
    var sent = snapshot();
    sent.sent = true;
    store(sent);
  });
})();
