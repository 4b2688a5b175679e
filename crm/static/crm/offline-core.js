/* The phone's store for the field app (issue 18), with no DOM: the pages load it, and so does the
   service worker (importScripts) to send the outbox by Background Sync. Exposes self.CrmOffline.

   IndexedDB "crm-offline":
   - meta: the briefcase (what the server sent for the next 14 days, with when it was taken), the
     signed-in user's id and the CSRF token the API wants with a session;
   - outbox: each report written on the phone, keyed by its client_id (a UUID made here, which the
     server uses to make it once however often it is sent), with its photos as Blobs already made
     smaller, its state (waiting, sent, refused, invalid) and the server's reason.
   Nothing is removed from the outbox until the server has it: a sent report's photos are dropped
   (the server holds them) and the sent entry itself after SENT_KEEP_DAYS. */
/* global self, indexedDB, fetch, FormData, BroadcastChannel */
(function (root) {
  "use strict";
  var DB_NAME = "crm-offline";
  var SENT_KEEP_DAYS = 7;
  var DAY = 24 * 60 * 60 * 1000;
  var API = "/api/v1/";
  var dbPromise = null;

  function request(req) {
    return new Promise(function (resolve, reject) {
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          var db = req.result;
          if (!db.objectStoreNames.contains("meta")) { db.createObjectStore("meta", { keyPath: "key" }); }
          if (!db.objectStoreNames.contains("outbox")) { db.createObjectStore("outbox", { keyPath: "client_id" }); }
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }

  function store(name, mode) {
    return open().then(function (db) { return db.transaction(name, mode).objectStore(name); });
  }

  function getMeta(key) {
    return store("meta", "readonly").then(function (s) { return request(s.get(key)); }).then(function (row) {
      return row ? row.value : null;
    });
  }

  function setMeta(key, value) {
    return store("meta", "readwrite").then(function (s) { return request(s.put({ key: key, value: value })); });
  }

  function all() {
    return store("outbox", "readonly").then(function (s) { return request(s.getAll()); }).then(function (rows) {
      return rows.sort(function (a, b) { return a.created < b.created ? -1 : 1; });
    });
  }

  function put(item) {
    return store("outbox", "readwrite").then(function (s) { return request(s.put(item)); }).then(function () {
      announce();
      return item;
    });
  }

  function remove(clientId) {
    return store("outbox", "readwrite").then(function (s) { return request(s["delete"](clientId)); }).then(announce);
  }

  function announce() {
    if (typeof BroadcastChannel !== "undefined") {
      var channel = new BroadcastChannel("crm-offline");
      channel.postMessage("changed");
      channel.close();
    }
  }

  function uuid() {
    if (root.crypto && root.crypto.randomUUID) { return root.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    root.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  // ------------------------------------------------------------ the briefcase
  function refreshBriefcase(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok || response.redirected) { throw new Error("briefcase " + response.status); }
      return response.json();
    }).then(function (data) {
      return setMeta("briefcase", data).then(function () { return setMeta("user", data.me); }).then(function () {
        announce();
        return data;
      });
    });
  }

  // ------------------------------------------------------------ the outbox
  /* A new report: `fields` as visit-tasks/{id}/report/ takes them, `photos` a list of Blobs. */
  function enqueue(taskId, fields, photos, context) {
    return getMeta("user").then(function (me) {
      return put({
        client_id: uuid(),
        me: me,
        task: taskId,
        fields: fields,
        photos: (photos || []).map(function (blob) { return { client_id: uuid(), blob: blob, type: blob.type, size: blob.size, sent: false }; }),
        context: context || {},
        state: "waiting",
        error: "",
        created: Date.now(),
        report: null,
        sent_at: null
      });
    });
  }

  /* A contact edited on the phone: `base` its fields as the briefcase had them when the edit began,
     `changes` the fields the manager changed. Merged field by field when sent (sendContact). */
  function enqueueContact(contact, customerId, changes, context) {
    var base = {};
    CONTACT_FIELDS.forEach(function (f) { base[f] = contact[f] || ""; });
    return getMeta("user").then(function (me) {
      return put({
        client_id: uuid(),
        kind: "contact",
        me: me,
        contact: contact.id,
        customer: customerId,
        base: base,
        changes: changes,
        conflicts: {},
        photos: [],
        context: context || {},
        state: "waiting",
        error: "",
        created: Date.now(),
        sent_at: null
      });
    });
  }

  var CONTACT_FIELDS = ["name", "title", "phone", "email"];

  /* The rule of issue 18: a field the phone changed and the server did not takes the phone's value;
     a field changed on both sides to different values is not written but asked (state
     "conflict", each with the phone's and the server's value); the rest is left as the server has it. */
  function sendContact(item, csrf) {
    return send("contacts/" + item.contact + "/", { method: "GET" }, csrf).then(checkAnswer).then(function (answer) {
      if (answer.status !== 200) {
        item.state = "refused";
        item.error = answer.status === 404 ? "gone" : messages(answer.body);
        return put(item);
      }
      var server = answer.body;
      var patch = {};
      var conflicts = {};
      Object.keys(item.changes).forEach(function (field) {
        var mine = item.changes[field], theirs = server[field] || "", base = item.base[field] || "";
        if (theirs === mine) { return; }
        if (theirs === base) { patch[field] = mine; } else { conflicts[field] = { phone: mine, server: theirs }; }
      });
      var write = Object.keys(patch).length
        ? send("contacts/" + item.contact + "/", { method: "PATCH", body: JSON.stringify(patch), headers: { "Content-Type": "application/json" } }, csrf).then(checkAnswer)
        : Promise.resolve({ status: 200 });
      return write.then(function (written) {
        if (written.status !== 200) {
          item.state = "invalid";
          item.error = messages(written.body);
          return put(item);
        }
        Object.keys(patch).forEach(function (field) { delete item.changes[field]; item.base[field] = patch[field]; });
        item.conflicts = conflicts;
        if (Object.keys(conflicts).length) {
          item.state = "conflict";
        } else {
          item.state = "sent";
          item.sent_at = Date.now();
        }
        return put(item);
      });
    });
  }

  /* The manager's answer to a field changed on both sides: "phone" writes the phone's value over
     the server's (as of what the server had when asked), "server" keeps the server's. */
  function resolveContact(clientId, field, keep) {
    return all().then(function (items) {
      var item = items.filter(function (i) { return i.client_id === clientId; })[0];
      if (!item || !item.conflicts[field]) { return null; }
      if (keep === "phone") { item.base[field] = item.conflicts[field].server; } else { delete item.changes[field]; }
      delete item.conflicts[field];
      if (!Object.keys(item.conflicts).length) { item.state = Object.keys(item.changes).length ? "waiting" : "sent"; }
      if (item.state === "sent") { item.sent_at = Date.now(); }
      return put(item);
    });
  }

  function messages(body) {
    if (!body || typeof body !== "object") { return ""; }
    if (body.detail) { return String(body.detail); }
    var out = [];
    Object.keys(body).forEach(function (key) {
      var value = body[key];
      if (Array.isArray(value)) { out.push(value.map(function (v) { return typeof v === "string" ? v : JSON.stringify(v); }).join(" ")); }
      else if (value && typeof value === "object") { out.push(messages(value)); }
      else { out.push(String(value)); }
    });
    return out.join(" ");
  }

  function send(path, init, csrf) {
    init.credentials = "same-origin";
    init.headers = init.headers || {};
    init.headers["X-CSRFToken"] = csrf || "";
    init.headers.Accept = "application/json";
    return fetch(API + path, init).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        return { status: response.status, body: body };
      });
    });
  }

  // Stops the whole round (the item stays waiting) on no connection, a server error, or a session
  // that has ended: sending the rest would only fail the same way.
  function Stop(reason) { this.reason = reason; }

  function checkAnswer(answer) {
    if (answer.status === 401 || answer.status === 403) { throw new Stop("auth"); }
    if (answer.status >= 500) { throw new Stop("server"); }
    return answer;
  }

  function sendPhotos(item, csrf) {
    var chain = Promise.resolve();
    item.photos.forEach(function (photo, index) {
      if (photo.sent || photo.refused) { return; }
      chain = chain.then(function () {
        var form = new FormData();
        form.append("file", photo.blob, "photo-" + (index + 1) + (photo.type === "image/png" ? ".png" : ".jpg"));
        form.append("client_id", photo.client_id);
        return send("visit-reports/" + item.report + "/photos/", { method: "POST", body: form }, csrf).then(checkAnswer).then(function (answer) {
          if (answer.status === 200 || answer.status === 201) {
            photo.sent = true;
            photo.blob = null; // the server has it: the phone's space is given back
            photo.error = "";
          } else {
            // refused for good (not a picture, one too many): the report is the server's anyway
            photo.refused = true;
            photo.error = messages(answer.body) || String(answer.status);
          }
          return put(item);
        });
      });
    });
    return chain;
  }

  function makeAdHoc(item, csrf) {
    var today = new Date();
    var due = today.getFullYear() + "-" + String(today.getMonth() + 1).padStart(2, "0") + "-" + String(today.getDate()).padStart(2, "0");
    var body = { manager: item.me, customer: item.adhoc.customer, due_date: due, note: item.adhoc.note || "" };
    return send("visit-tasks/", { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } }, csrf)
      .then(checkAnswer).then(function (answer) {
        if (answer.status !== 201) { return { refused: messages(answer.body) }; }
        item.task = answer.body.id;
        item.adhoc = null;
        return put(item).then(function () { return {}; });
      });
  }

  function sendOne(item, csrf) {
    if (item.kind === "contact") { return sendContact(item, csrf); }
    var first = item.adhoc ? makeAdHoc(item, csrf) : Promise.resolve({});
    return first.then(function (made) {
      if (made.refused) {
        item.state = "invalid";
        item.error = made.refused;
        return put(item);
      }
      if (item.report) { return sendPhotos(item, csrf).then(function () { return finish(item); }); }
      var payload = Object.assign({}, item.fields, { client_id: item.client_id });
      return send("visit-tasks/" + item.task + "/report/", {
        method: "POST", body: JSON.stringify(payload), headers: { "Content-Type": "application/json" }
      }, csrf).then(checkAnswer).then(function (answer) {
        if (answer.status === 200 || answer.status === 201) {
          item.report = answer.body.id;
          item.error = "";
          return put(item).then(function () { return sendPhotos(item, csrf); }).then(function () { return finish(item); });
        }
        // the task cancelled meanwhile (409) or no longer this manager's (404): the report stays
        // here for the manager to move; refused input (400) for them to correct
        item.state = answer.status === 400 ? "invalid" : "refused";
        item.error = answer.status === 404 ? "gone" : messages(answer.body);
        return put(item);
      });
    });
  }

  function finish(item) {
    var left = item.photos.filter(function (p) { return !p.sent && !p.refused; });
    if (!left.length) {
      item.state = "sent";
      item.sent_at = Date.now();
    }
    return put(item);
  }

  var running = null;

  /* Send what waits. One round at a time in this context (and, where the browser has Web Locks,
     in all tabs and the worker); a second send of the same report is harmless anyway: the
     server answers it by its client_id. */
  function sync() {
    if (running) { return running; }
    var round = function () {
      return Promise.all([getMeta("csrf"), getMeta("user"), all()]).then(function (got) {
        var csrf = got[0], me = got[1];
        var now = Date.now();
        var chain = Promise.resolve();
        got[2].forEach(function (item) {
          if (item.state === "sent" && item.sent_at && now - item.sent_at > SENT_KEEP_DAYS * DAY) {
            chain = chain.then(function () { return remove(item.client_id); });
            return;
          }
          if (item.state !== "waiting" || (me && item.me && item.me !== me)) { return; }
          chain = chain.then(function () { return sendOne(item, csrf); });
        });
        return chain.then(function () { return { ok: true }; });
      }).catch(function (error) {
        if (error instanceof Stop) { return { ok: false, reason: error.reason }; }
        return { ok: false, reason: "network" }; // fetch itself failed: no connection
      });
    };
    var locked = root.navigator && root.navigator.locks ? root.navigator.locks.request("crm-outbox", round) : round();
    running = locked.then(function (result) {
      running = null;
      announce();
      return setMeta("last_sync", { at: Date.now(), result: result }).then(function () { return result; });
    }, function () { running = null; return { ok: false, reason: "network" }; });
    return running;
  }

  function moveTo(clientId, taskId, adhoc) {
    return all().then(function (items) {
      var item = items.filter(function (i) { return i.client_id === clientId; })[0];
      if (!item) { return null; }
      item.task = taskId;
      item.adhoc = adhoc || null;
      item.state = "waiting";
      item.error = "";
      return put(item);
    });
  }

  /* Leave nothing of this user on the phone but what is still unsent (sign-out). */
  function forget() {
    return store("meta", "readwrite").then(function (s) {
      return Promise.all(["briefcase", "csrf"].map(function (key) { return request(s["delete"](key)); }));
    }).then(function () {
      return all().then(function (items) {
        return Promise.all(items.filter(function (i) { return i.state === "sent"; }).map(function (i) { return remove(i.client_id); }));
      });
    });
  }

  root.CrmOffline = {
    open: open,
    getMeta: getMeta,
    setMeta: setMeta,
    refreshBriefcase: refreshBriefcase,
    enqueue: enqueue,
    enqueueContact: enqueueContact,
    resolveContact: resolveContact,
    all: all,
    put: put,
    remove: remove,
    sync: sync,
    moveTo: moveTo,
    forget: forget,
    uuid: uuid
  };
})(self);
