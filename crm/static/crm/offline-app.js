/* The field app's page (templates/visits/offline.html), drawn from the phone alone: the briefcase
   (visits.offline: the next 14 days of visits, their customers' profiles, contacts, consumption and
   open follow-ups) and the outbox (offline-core.js). Routes by the address's hash: "" the list,
   "#customer/ID" a customer and their visits, "#task/ID" a visit's report form, "#outbox".
   Every word shown comes from the page (data-s-*), rendered in the user's language by Django. */
/* global CrmOffline */
(function () {
  "use strict";
  var app = document.querySelector("[data-field-app]");
  // offline-page.js gave up (no service worker): the page says offline is not available
  if (!app || typeof CrmOffline === "undefined" || !window.CrmOfflineSyncNow) { return; }
  var s = function (name) { return app.getAttribute("data-s-" + name) || ""; };
  var list = app.querySelector("[data-list]");
  var detail = app.querySelector("[data-detail]");
  var outbox = app.querySelector("[data-outbox]");
  var MAX_PHOTOS = parseInt(app.getAttribute("data-max-photos"), 10) || 6;
  var LONG_SIDE = 1600; // pixels: a meter's digits stay legible, the photo is a few hundred KB
  var QUALITY = 0.8;
  var briefcase = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function grouped(n) { return Number(n).toLocaleString("zh-CN", { maximumFractionDigits: 1 }); }

  function today() {
    var d = new Date();
    return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" + String(d.getDate()).padStart(2, "0");
  }

  function customerOf(id) {
    return (briefcase && briefcase.customers || []).filter(function (c) { return c.id === id; })[0] || null;
  }

  function taskOf(id) {
    return (briefcase && briefcase.tasks || []).filter(function (t) { return t.id === id; })[0] || null;
  }

  // ------------------------------------------------------------ the list
  // The briefcase's visits with no report on the phone: a report written (waiting, sent or refused)
  // takes its visit off the list until the next briefcase says what the server made of it.
  function openTasks(items) {
    var reported = {};
    items.forEach(function (i) { reported[i.task] = true; });
    return (briefcase ? briefcase.tasks : []).filter(function (t) { return !reported[t.id]; });
  }

  function drawList(items) {
    list.textContent = "";
    if (!briefcase) { list.appendChild(el("p", { "class": "card muted", text: s("no-briefcase") })); return; }
    var tasks = openTasks(items);
    if (!tasks.length) { list.appendChild(el("p", { "class": "card muted", text: s("no-tasks") })); return; }
    var ul = el("ul", { "class": "offline-tasks card" });
    tasks.forEach(function (task) {
      var customer = task.customer ? customerOf(task.customer) : null;
      var when = task.planned_on ? s("planned") + " " + task.planned_on : s("due") + " " + task.due_date;
      var name = el("a", { href: customer ? "#customer/" + customer.id : "#task/" + task.id, text: task.target_name });
      ul.appendChild(el("li", { "data-task": String(task.id) }, [
        name,
        el("span", { "class": "badge", text: task.kind_label }),
        el("span", { "class": "badge status " + task.status, text: task.status_label }),
        el("span", { "class": "muted", text: " " + when + " " }),
        el("a", { "class": "button small", href: "#task/" + task.id, text: s("report") })
      ]));
    });
    list.appendChild(el("h2", { text: s("visits") }));
    list.appendChild(ul);
  }

  function profile(customer) {
    var box = el("section", { "class": "card customer-profile" }, [
      el("h2", { text: customer.name }),
      el("p", { "class": "badges" }, [el("span", { "class": "badge", text: customer.tier }), el("span", { "class": "badge", text: customer.category })]),
      el("p", { text: s("account") + " " + customer.account_no + " · " + s("station") + " " + customer.station + (customer.territory ? " · " + customer.territory : "") }),
      el("p", { text: s("address") + " " + (customer.address || "—") }),
      el("p", { text: s("capacity") + " " + grouped(customer.capacity_kva || 0) })
    ]);
    var contacts = el("ul", { "class": "contacts" });
    customer.contacts.forEach(function (c) {
      var phone = c.phone ? el("a", { href: "tel:" + c.phone, text: c.phone }) : null;
      var edit = el("button", { type: "button", "class": "link", "data-edit-contact": String(c.id), text: s("edit") });
      var li = el("li", { "data-contact": String(c.id) }, [el("strong", { text: c.name }), el("span", { text: " " + (c.title || "") + " " }), phone, el("span", { text: " " }), edit]);
      edit.addEventListener("click", function () { li.replaceWith(contactForm(c, customer)); });
      contacts.appendChild(li);
    });
    box.appendChild(el("h3", { text: s("contacts") }));
    box.appendChild(customer.contacts.length ? contacts : el("p", { "class": "muted", text: s("no-contacts") }));
    box.appendChild(el("h3", { text: s("consumption") }));
    if (customer.consumption.length) {
      var rows = customer.consumption.map(function (row) {
        return el("tr", {}, [el("th", { scope: "row", text: row[0] }), el("td", { "class": "num", text: grouped(row[1]) })]);
      });
      box.appendChild(el("div", { "class": "table-wrap" }, [el("table", { "class": "consumption-months" }, [el("tbody", {}, rows)])]));
    } else {
      box.appendChild(el("p", { "class": "muted", text: s("no-consumption") }));
    }
    box.appendChild(el("h3", { text: s("follow-ups") }));
    if (customer.follow_ups.length) {
      box.appendChild(el("ul", {}, customer.follow_ups.map(function (f) {
        return el("li", {}, [el("span", { "class": "badge", text: f.department }), el("span", { text: " " + f.action + " " }),
          el("span", { "class": "muted", text: f.raised_on + (f.request ? " · " + s("request") + " " + f.request : "") })]);
      })));
    } else {
      box.appendChild(el("p", { "class": "muted", text: s("no-follow-ups") }));
    }
    return box;
  }

  var CONTACT_FIELDS = ["name", "title", "phone", "email"];

  // A contact changed on the phone: kept in the outbox with what the briefcase had (the base), and
  // merged field by field with the server's when sent (offline-core.js, sendContact).
  function contactForm(contact, customer) {
    var form = el("form", { "class": "contact-edit", "data-contact-form": String(contact.id) });
    CONTACT_FIELDS.forEach(function (field) {
      var input = el("input", { name: field, value: contact[field] || "", type: field === "email" ? "email" : field === "phone" ? "tel" : "text" });
      form.appendChild(el("p", { "class": "field" }, [el("label", { text: s("field-" + field) }), input]));
    });
    form.appendChild(el("p", { "class": "field actions" }, [el("button", { type: "submit", text: s("save-contact") })]));
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var changes = {};
      CONTACT_FIELDS.forEach(function (field) {
        var value = form.querySelector("[name=" + field + "]").value.trim();
        if (value !== (contact[field] || "")) { changes[field] = value; }
      });
      if (!Object.keys(changes).length) { route(); return; }
      CrmOffline.enqueueContact(contact, customer.id, changes, { target: customer.name + " · " + contact.name }).then(function () {
        if (navigator.onLine) { window.CrmOfflineSyncNow(); }
        route();
      });
    });
    return form;
  }

  // What the manager changed and has not yet sent shows in place of what the briefcase holds.
  function withPendingContacts(customer, items) {
    var copy = JSON.parse(JSON.stringify(customer));
    items.forEach(function (item) {
      if (item.kind !== "contact" || item.state === "sent") { return; }
      copy.contacts.forEach(function (c) {
        if (c.id === item.contact) { Object.keys(item.changes).forEach(function (f) { c[f] = item.changes[f]; }); }
      });
    });
    return copy;
  }

  function drawCustomer(id, items) {
    var customer = customerOf(id);
    detail.textContent = "";
    detail.appendChild(el("p", {}, [el("a", { href: "#", text: s("back") })]));
    if (!customer) { detail.appendChild(el("p", { "class": "card muted", text: s("task-gone") })); return; }
    var ul = el("ul", { "class": "offline-tasks card" });
    openTasks(items).filter(function (t) { return t.customer === id; }).forEach(function (task) {
      ul.appendChild(el("li", { "data-task": String(task.id) }, [
        el("span", { "class": "badge", text: task.kind_label }),
        el("span", { "class": "muted", text: " " + s("due") + " " + task.due_date + " " }),
        el("a", { "class": "button small", href: "#task/" + task.id, text: s("report") })
      ]));
    });
    // the visits to report first, then what to know before going in
    detail.appendChild(ul);
    detail.appendChild(profile(withPendingContacts(customer, items)));
  }

  // ------------------------------------------------------------ the report form
  function resize(file) {
    // Made smaller on the phone before it is stored: the long side at most LONG_SIDE pixels, JPEG.
    return createImageBitmap(file).then(function (image) {
      var scale = Math.min(1, LONG_SIDE / Math.max(image.width, image.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(image.width * scale);
      canvas.height = Math.round(image.height * scale);
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", QUALITY); });
    });
  }

  // A small preview as a data: address (the content security policy allows images from this site
  // and data:, not blob:), drawn from the photo already made smaller.
  function thumbnail(blob) {
    return createImageBitmap(blob).then(function (image) {
      var scale = 144 / Math.max(image.width, image.height);
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(image.width * scale);
      canvas.height = Math.round(image.height * scale);
      canvas.getContext("2d").drawImage(image, 0, 0, canvas.width, canvas.height);
      return canvas.toDataURL("image/jpeg", 0.7);
    });
  }

  function drawTask(id) {
    var task = taskOf(id);
    detail.textContent = "";
    detail.appendChild(el("p", {}, [el("a", { href: task && task.customer ? "#customer/" + task.customer : "#", text: s("back") })]));
    if (!task) { detail.appendChild(el("p", { "class": "card muted", text: s("task-gone") })); return; }
    var customer = task.customer ? customerOf(task.customer) : null;
    detail.appendChild(el("section", { "class": "card" }, [
      el("h2", { text: task.target_name }),
      el("p", { "class": "badges" }, [el("span", { "class": "badge", text: task.kind_label }), el("span", { "class": "muted", text: s("due") + " " + task.due_date })]),
      customer ? el("p", { text: s("address") + " " + (customer.address || "—") }) : null
    ]));
    var form = document.querySelector("template[data-report-form]").content.firstElementChild.cloneNode(true);
    form.setAttribute("data-task", String(id));
    form.querySelector("[name=visited_on]").value = today();
    var photos = [];
    var checkin = null;
    var thumbs = form.querySelector("[data-thumbs]");
    var error = form.querySelector("[data-form-error]");
    function fail(message) { error.textContent = message; error.hidden = !message; }
    form.querySelector("[data-photos]").addEventListener("change", function (event) {
      var files = Array.prototype.slice.call(event.target.files || []);
      if (photos.length + files.length > MAX_PHOTOS) { fail(s("too-many")); files = files.slice(0, MAX_PHOTOS - photos.length); }
      Promise.all(files.map(resize)).then(function (blobs) {
        return Promise.all(blobs.filter(Boolean).map(function (blob) {
          photos.push(blob);
          return thumbnail(blob).then(function (src) {
            var img = el("img", { alt: "", "data-thumb": "" });
            img.src = src;
            thumbs.appendChild(img);
          });
        }));
      }).then(function () { event.target.value = ""; });
    });
    form.querySelector("[data-checkin]").addEventListener("click", function () {
      var out = form.querySelector("[data-checkin-text]");
      if (!navigator.geolocation) { out.textContent = s("checkin-failed"); return; }
      navigator.geolocation.getCurrentPosition(function (pos) {
        checkin = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy_m: pos.coords.accuracy, at: new Date(pos.timestamp).toISOString() };
        out.textContent = s("checked-in") + " " + checkin.lat.toFixed(5) + ", " + checkin.lon.toFixed(5) + " (" + s("accuracy") + " ±" + Math.round(checkin.accuracy_m) + " m)";
      }, function () { out.textContent = s("checkin-failed"); }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var fields = window.CrmReportFields(form);
      if (!fields.satisfaction) { fail(s("satisfaction")); return; }
      if (checkin) { fields.checkin = checkin; }
      var context = { target: task.target_name, customer: task.customer, kind: task.kind_label };
      CrmOffline.enqueue(id, fields, photos, context).then(function () {
        location.hash = "#outbox";
        if (navigator.onLine) { window.CrmOfflineSyncNow(); }
      });
    });
    detail.appendChild(form);
  }

  // ------------------------------------------------------------ the outbox
  function drawOutbox(items) {
    outbox.textContent = "";
    if (!items.length) { outbox.appendChild(el("li", { "class": "muted", text: s("outbox-empty") })); return; }
    items.forEach(function (item) {
      if (item.kind === "contact") { outbox.appendChild(contactItem(item)); return; }
      var li = el("li", { "class": "outbox-item " + item.state, "data-outbox-item": item.client_id, "data-state": item.state }, [
        el("span", { "class": "badge state", text: s("state-" + item.state) }),
        el("strong", { text: " " + (item.context.target || "#" + item.task) + " " }),
        el("span", { "class": "muted", text: (item.context.kind || "") + " · " + s("written") + " " + window.CrmOfflineStamp(item.created) + " · " + item.photos.length + " " + s("photos") })
      ]);
      if (item.error) { li.appendChild(el("p", { "class": "reason", "data-reason": "", text: item.error === "gone" ? s("gone") : item.error })); }
      item.photos.filter(function (p) { return p.error; }).forEach(function (p) { li.appendChild(el("p", { "class": "reason", text: p.error })); });
      if (item.state === "refused" || item.state === "invalid") { li.appendChild(moveChoices(item, items)); }
      outbox.appendChild(li);
    });
  }

  function contactItem(item) {
    var li = el("li", { "class": "outbox-item " + item.state, "data-outbox-item": item.client_id, "data-state": item.state, "data-kind": "contact" }, [
      el("span", { "class": "badge state", text: s("state-" + item.state) }),
      el("strong", { text: " " + s("contact-change") + " " }),
      el("span", { "class": "muted", text: (item.context.target || "") + " · " + s("written") + " " + window.CrmOfflineStamp(item.created) })
    ]);
    if (item.error) { li.appendChild(el("p", { "class": "reason", text: item.error === "gone" ? s("contact-gone") : item.error })); }
    Object.keys(item.conflicts || {}).forEach(function (field) {
      var both = item.conflicts[field];
      var phone = el("button", { type: "button", "class": "secondary small", "data-keep": "phone", text: s("keep-phone") + "：" + (both.phone || "—") });
      var server = el("button", { type: "button", "class": "secondary small", "data-keep": "server", text: s("keep-server") + "：" + (both.server || "—") });
      phone.addEventListener("click", function () { CrmOffline.resolveContact(item.client_id, field, "phone").then(function () { return window.CrmOfflineSyncNow(); }); });
      server.addEventListener("click", function () { CrmOffline.resolveContact(item.client_id, field, "server").then(route); });
      li.appendChild(el("div", { "class": "conflict", "data-conflict": field }, [
        el("p", { "class": "reason", text: s("field-" + field) + "：" + s("conflict") }), phone, el("span", { text: " " }), server
      ]));
    });
    return li;
  }

  function moveChoices(item, items) {
    // A refused report is the manager's work: it moves to another open visit of theirs, becomes an
    // ad hoc visit of the same customer, or (their choice only) is discarded.
    var box = el("div", { "class": "move" });
    var others = openTasks(items);
    if (others.length) {
      var select = el("select", { "data-move-to": "" }, others.map(function (t) {
        return el("option", { value: String(t.id), text: t.target_name + " · " + t.kind_label + " · " + t.due_date });
      }));
      var move = el("button", { type: "button", "class": "secondary small", text: s("move") });
      move.addEventListener("click", function () {
        var target = taskOf(parseInt(select.value, 10));
        item.context.target = target.target_name;
        item.context.kind = target.kind_label;
        CrmOffline.moveTo(item.client_id, target.id, null).then(function () { return window.CrmOfflineSyncNow(); });
      });
      box.appendChild(select);
      box.appendChild(move);
    }
    if (item.context.customer) {
      var adhoc = el("button", { type: "button", "class": "secondary small", "data-adhoc": "", text: s("adhoc") });
      adhoc.addEventListener("click", function () {
        CrmOffline.moveTo(item.client_id, item.task, { customer: item.context.customer }).then(function () { return window.CrmOfflineSyncNow(); });
      });
      box.appendChild(adhoc);
    }
    var discard = el("button", { type: "button", "class": "link", text: s("delete") });
    discard.addEventListener("click", function () {
      if (window.confirm(s("confirm-delete"))) { CrmOffline.remove(item.client_id); }
    });
    box.appendChild(discard);
    return box;
  }

  // ------------------------------------------------------------ routing
  function route() {
    return Promise.all([CrmOffline.getMeta("briefcase"), CrmOffline.all()]).then(function (got) {
      briefcase = got[0];
      var items = got[1];
      drawOutbox(items);
      var hash = location.hash;
      var match = /^#(task|customer)\/(\d+)$/.exec(hash);
      detail.hidden = !match;
      list.hidden = !!match;
      // a visit opened: its customer and form only, the outbox and the list are one tap back
      app.querySelector("#outbox").hidden = !!match;
      app.querySelector("[data-intro]").hidden = !!match;
      if (match && match[1] === "task") {
        if (!detail.querySelector("form[data-task='" + match[2] + "']")) { drawTask(parseInt(match[2], 10)); }
      } else if (match) {
        drawCustomer(parseInt(match[2], 10), items);
      } else {
        drawList(items);
        if (hash === "#outbox") { document.getElementById("outbox").scrollIntoView(); }
      }
    });
  }

  app.querySelector("[data-sync]").addEventListener("click", function () { window.CrmOfflineSyncNow().then(route); });
  window.addEventListener("hashchange", route);
  if (typeof BroadcastChannel !== "undefined") {
    // the outbox or briefcase changed (a sync here, in another tab or in the worker): draw again,
    // but leave a report form being typed alone
    new BroadcastChannel("crm-offline").onmessage = function () {
      if (/^#task\//.test(location.hash)) {
        CrmOffline.all().then(drawOutbox);
      } else {
        route();
      }
    };
  }
  route();
})();
