/* On every page of a signed-in user (templates/visits/_offline_boot.html): registers the service
   worker, keeps the briefcase fresh while there is a connection, sends the outbox on opening, on
   `online` and by the "立即同步" button, says when a page comes from the phone, and catches a
   report form sent with no signal into the outbox. In a browser without service workers it says
   that offline is not available and leaves the forms to work online as they always did. */
/* global CrmOffline */
(function () {
  "use strict";
  var boot = document.getElementById("crm-offline");
  if (!boot) { return; }
  var text = function (name) { return boot.getAttribute("data-s-" + name) || ""; };
  var supported = "serviceWorker" in navigator && typeof indexedDB !== "undefined";
  var BRIEFCASE_EVERY = 5 * 60 * 1000;

  function stamp(ms) {
    var d = new Date(ms);
    var two = function (n) { return String(n).padStart(2, "0"); };
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " + two(d.getHours()) + ":" + two(d.getMinutes());
  }
  window.CrmOfflineStamp = stamp;

  var bar = document.createElement("div");
  bar.className = "offline-bar";
  bar.setAttribute("role", "status");
  bar.setAttribute("data-offline-bar", "");
  var main = document.querySelector("main.page") || document.body;
  main.insertBefore(bar, main.firstChild);

  if (!supported) {
    // The form still works online; offline it cannot, and the manager is told so before needing it.
    var notes = document.querySelectorAll("[data-offline-support]");
    Array.prototype.forEach.call(notes, function (el) {
      el.hidden = false;
      el.textContent = text("unsupported");
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-offline-only]"), function (el) { el.hidden = true; });
    if (!notes.length && document.querySelector("form[data-draft], [data-field-app]")) {
      bar.textContent = text("unsupported");
      bar.classList.add("warn");
    } else {
      bar.hidden = true;
    }
    return;
  }

  navigator.serviceWorker.register(boot.getAttribute("data-sw"), { scope: "/" }).catch(function () { /* the page still works */ });
  if (navigator.storage && navigator.storage.persist) {
    // nothing unsent may be evicted when the phone runs short of space
    navigator.storage.persist().catch(function () { return false; });
  }

  function csrf() {
    var match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return (match && decodeURIComponent(match[1])) || (input && input.value) || "";
  }
  var token = csrf();
  if (token && navigator.onLine) { CrmOffline.setMeta("csrf", token); }

  function draw() {
    return Promise.all([CrmOffline.all(), CrmOffline.getMeta("briefcase"), CrmOffline.getMeta("last_sync")]).then(function (got) {
      var waiting = got[0].filter(function (i) { return i.state === "waiting"; }).length;
      var stuck = got[0].filter(function (i) { return i.state === "refused" || i.state === "invalid" || i.state === "conflict"; }).length;
      var parts = [];
      if (!navigator.onLine) { parts.push(text("offline")); }
      if (got[1] && (!navigator.onLine || boot.hasAttribute("data-field-app"))) {
        parts.push(text("taken") + " " + stamp(Date.parse(got[1].taken_at)));
      }
      if (waiting) { parts.push(text("waiting").replace("{n}", waiting)); }
      if (stuck) { parts.push(text("stuck").replace("{n}", stuck)); }
      var last = got[2];
      if (last && last.result && !last.result.ok && waiting) {
        parts.push(text("sync_" + last.result.reason) || text("sync_network"));
      }
      bar.textContent = parts.join(" · ");
      bar.classList.toggle("warn", !navigator.onLine || stuck > 0);
      if (waiting || stuck) {
        var link = document.createElement("a");
        link.href = boot.getAttribute("data-app") + "#outbox";
        link.textContent = text("outbox");
        bar.appendChild(document.createTextNode(" "));
        bar.appendChild(link);
      }
      if (waiting) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary small";
        button.setAttribute("data-sync-now", "");
        button.textContent = text("sync");
        button.addEventListener("click", syncNow);
        bar.appendChild(document.createTextNode(" "));
        bar.appendChild(button);
      }
      bar.hidden = parts.length === 0;
    });
  }

  // After a round that sent something, the briefcase is taken again: the visits reported are done
  // on the server now, and a cancelled or handed-over one is gone from it.
  function syncNow() {
    return CrmOffline.all().then(function (before) {
      var waiting = before.filter(function (i) { return i.state === "waiting"; }).length;
      return CrmOffline.sync().then(function (result) {
        return result.ok && waiting ? freshen(true) : null;
      });
    }).then(draw);
  }
  window.CrmOfflineSyncNow = syncNow;

  function freshen(force) {
    if (!navigator.onLine) { return Promise.resolve(); }
    return CrmOffline.getMeta("briefcase").then(function (kept) {
      var age = kept ? Date.now() - Date.parse(kept.taken_at) : Infinity;
      if (!force && age < BRIEFCASE_EVERY) { return kept; }
      return CrmOffline.refreshBriefcase(boot.getAttribute("data-briefcase")).catch(function () { return kept; });
    });
  }

  if (typeof BroadcastChannel !== "undefined") {
    new BroadcastChannel("crm-offline").onmessage = function () { draw(); };
  }
  window.addEventListener("online", function () {
    if (navigator.serviceWorker.ready && "SyncManager" in window) {
      navigator.serviceWorker.ready.then(function (reg) { return reg.sync.register("crm-outbox"); }).catch(function () { return null; });
    }
    syncNow().then(function () { return freshen(true); }).then(draw);
  });
  window.addEventListener("offline", draw);

  // A visit report form sent with no signal: kept in the outbox instead of lost to a failed POST.
  var form = document.querySelector("form[data-draft]");
  if (form) {
    form.addEventListener("submit", function (event) {
      if (navigator.onLine || event.submitter && event.submitter.name === "add_follow_up") { return; }
      event.preventDefault();
      event.stopImmediatePropagation();
      var fields = window.CrmReportFields(form);
      var task = parseInt(form.getAttribute("data-draft").split(":")[1], 10);
      CrmOffline.enqueue(task, fields, [], { target: form.getAttribute("data-target") || "" }).then(function () {
        try { localStorage.removeItem(form.getAttribute("data-draft")); } catch (e) { /* no storage */ }
        var note = document.createElement("p");
        note.className = "notice";
        note.setAttribute("data-queued", "");
        note.textContent = text("queued");
        form.parentNode.insertBefore(note, form);
        form.hidden = true;
        draw();
      });
    }, true);
  }

  // Signing out leaves nothing of this user's on the phone but reports not yet sent.
  Array.prototype.forEach.call(document.querySelectorAll("form[action$='/logout/']"), function (logout) {
    logout.addEventListener("submit", function () {
      CrmOffline.forget();
      if (navigator.serviceWorker.controller) { navigator.serviceWorker.controller.postMessage("signed-out"); }
    });
  });

  draw();
  if (navigator.onLine) {
    freshen(boot.hasAttribute("data-field-app")).then(function () { return CrmOffline.sync(); }).then(draw);
  }
})();

/* The report form's fields as visit-tasks/{id}/report/ takes them: the server's form (visits/forms.py)
   and its follow-up rows, removed rows left out. Shared with offline-app.js. */
window.CrmReportFields = function (form) {
  "use strict";
  var value = function (name) {
    var el = form.querySelector("[name='" + name + "']:not([type=radio]), [name='" + name + "'][type=radio]:checked");
    return el ? el.value : "";
  };
  var fields = {
    visited_on: value("visited_on"),
    channel: value("channel"),
    people_met: value("people_met"),
    business_trend: value("business_trend"),
    needs: value("needs"),
    satisfaction: parseInt(value("satisfaction"), 10) || null,
    forecast_kwh_12m: value("forecast_kwh_12m") || null,
    follow_ups: []
  };
  var total = form.querySelector("input[name$='-TOTAL_FORMS']");
  var prefix = total ? total.name.replace(/-TOTAL_FORMS$/, "") : "fu";
  var rows = total ? parseInt(total.value, 10) || 0 : 0;
  for (var i = 0; i < rows; i++) {
    var gone = form.querySelector("input[name='" + prefix + "-" + i + "-DELETE']");
    var action = value(prefix + "-" + i + "-action").trim();
    if ((gone && gone.checked) || !action) { continue; }
    fields.follow_ups.push({
      department: value(prefix + "-" + i + "-department"),
      action: action,
      status: value(prefix + "-" + i + "-status") || "open"
    });
  }
  return fields;
};
