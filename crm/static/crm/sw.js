/* The field app's service worker (issue 18), served at /sw.js by visits.offline_views.service_worker,
   which puts its settings in self.CRM_SW ahead of this code.

   Hand-written rather than Workbox: four rules (the shell kept at install, static files from the
   cache, the manager's pages from the network with the last copy kept for no signal, the API
   never cached) fit in a page, and vendoring Workbox would add a hundred kilobytes to keep current
   with no build step to do it.

   What it never does: cache an API answer, a POST, a page another user might get, or anything
   while signed out (a page that arrived by redirect, i.e. the login page, is not kept). Signing
   out empties its caches (offline-page.js asks it to). */
/* global self, caches, fetch, Response, URL, importScripts */
(function () {
  "use strict";
  var CONFIG = self.CRM_SW;
  var SHELL = "crm-shell-" + CONFIG.version;
  var PAGES = "crm-pages";
  importScripts(CONFIG.core); // the outbox and its sending, shared with the pages (Background Sync)

  self.addEventListener("install", function (event) {
    event.waitUntil(
      caches.open(SHELL).then(function (cache) {
        // Static files must all be there; the shell page too, unless it answers with the login page
        // (the worker installed from a page whose session has just ended): it is kept on next visit.
        return cache.addAll(CONFIG.assets).then(function () {
          return fetch(CONFIG.shell, { credentials: "same-origin" }).then(function (response) {
            if (response.ok && !response.redirected) { return caches.open(PAGES).then(function (pages) { return pages.put(CONFIG.shell, response); }); }
            return null;
          }).catch(function () { return null; });
        });
      }).then(function () { return self.skipWaiting(); })
    );
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(
      caches.keys().then(function (names) {
        return Promise.all(names.filter(function (name) {
          return name.indexOf("crm-shell-") === 0 && name !== SHELL;
        }).map(function (name) { return caches.delete(name); }));
      }).then(function () { return self.clients.claim(); })
    );
  });

  // The manager's pages kept for no signal: the home, the week, the plan, the field app, a visit's
  // report form and a customer's page. Anything else falls back to the field app when offline.
  function keptPage(path) {
    return CONFIG.pages.indexOf(path) !== -1 || path === CONFIG.shell ||
      /^\/visits\/tasks\/\d+\/report\/$/.test(path) || /^\/customers\/\d+\/$/.test(path);
  }

  function fromNetworkKeeping(request, path) {
    return fetch(request).then(function (response) {
      if (response.ok && !response.redirected && response.type === "basic") {
        var copy = response.clone();
        caches.open(PAGES).then(function (cache) { cache.put(path, copy); });
      }
      return response;
    });
  }

  function offlineFallback(path) {
    return caches.open(PAGES).then(function (cache) {
      return cache.match(path).then(function (hit) {
        if (hit) { return hit; }
        var task = /^\/visits\/tasks\/(\d+)\/report\/$/.exec(path);
        // a report form never opened online: the field app opens that visit from the briefcase
        return cache.match(CONFIG.shell).then(function (shell) {
          if (shell && task) { return Response.redirect(CONFIG.shell + "#task/" + task[1], 302); }
          return shell || new Response("<!doctype html><meta charset=utf-8><title>离线</title><p>没有网络，此页面也未保存在手机上。</p>", { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
        });
      });
    });
  }

  self.addEventListener("fetch", function (event) {
    var request = event.request;
    if (request.method !== "GET") { return; }
    var url = new URL(request.url);
    if (url.origin !== self.location.origin) { return; }
    if (url.pathname.indexOf(CONFIG.api) === 0 || url.pathname === "/sw.js") { return; }
    if (CONFIG.assets.indexOf(url.pathname) !== -1) {
      event.respondWith(caches.match(url.pathname).then(function (hit) { return hit || fetch(request); }));
      return;
    }
    if (request.mode === "navigate") {
      var path = url.pathname;
      if (keptPage(path)) {
        event.respondWith(fromNetworkKeeping(request, path).catch(function () { return offlineFallback(path); }));
      } else {
        event.respondWith(fetch(request).catch(function () { return offlineFallback(path); }));
      }
    }
  });

  // Background Sync where the browser has it: the outbox is sent even with the app closed. Never
  // relied on: the pages send on opening, on `online` and by the button.
  self.addEventListener("sync", function (event) {
    if (event.tag === "crm-outbox") { event.waitUntil(self.CrmOffline.sync()); }
  });

  self.addEventListener("message", function (event) {
    if (event.data === "signed-out") {
      event.waitUntil(caches.keys().then(function (names) {
        return Promise.all(names.map(function (name) { return caches.delete(name); }));
      }));
    }
  });
})();
