// Behaviour for the staff pages. Every page works without it; this file only makes the
// live queue, the menu and post-redirect-get pages kinder to keyboard and screen-reader
// users. No inline scripts or handlers anywhere (Content-Security-Policy: script-src 'self').
(function () {
  "use strict";

  // --- Session end -------------------------------------------------------------------
  // A signed-out session must not leave a silently frozen queue: when a poll answers 401
  // (the session ended), go to sign-in and come back here afterwards.
  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 401) {
      window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
    }
  });

  // --- Live queue ------------------------------------------------------------------------
  // #queue is refreshed every 2 s and morphed in place (partials/queue.html). Here: what
  // changed is said once in #queue-news, and if the focused row left the queue, focus goes
  // to the row that took its place (or the queue itself), never to the top of the page.
  var before = null;

  function queueRows(queue) {
    return Array.prototype.map.call(queue.querySelectorAll("tr[data-escalation]"), function (row) {
      return { id: row.dataset.escalation, patient: row.dataset.patient, noun: row.dataset.noun, state: row.dataset.state };
    });
  }

  function plural(count, noun) {
    return count + " new " + noun + (count === 1 ? "" : "s");
  }

  // "1 new urgent escalation: Ava Singh. Liam Tremblay: acknowledged. No longer in the queue: Zoe Martin."
  function describeChanges(old, now) {
    var oldById = {};
    old.forEach(function (row) { oldById[row.id] = row; });
    var nowIds = {};
    var added = {}, nouns = [], changed = [], sentences = [];
    now.forEach(function (row) {
      nowIds[row.id] = true;
      var was = oldById[row.id];
      if (!was) {
        if (!added[row.noun]) { added[row.noun] = []; nouns.push(row.noun); }
        added[row.noun].push(row.patient);
      } else if (was.state !== row.state) {
        changed.push(row.patient + ": " + row.state);
      }
    });
    nouns.forEach(function (noun) {
      sentences.push(plural(added[noun].length, noun) + ": " + added[noun].join(", "));
    });
    sentences = sentences.concat(changed);
    var gone = old.filter(function (row) { return !nowIds[row.id]; }).map(function (row) { return row.patient; });
    if (gone.length) { sentences.push("No longer in the queue: " + gone.join(", ")); }
    return sentences.length ? sentences.join(". ") + "." : "";
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var queue = event.detail.target;
    if (!queue || queue.id !== "queue") { return; }
    var focused = document.activeElement;
    var row = focused && queue.contains(focused) ? focused.closest("tr[data-escalation]") : null;
    var rows = Array.prototype.slice.call(queue.querySelectorAll("tr[data-escalation]"));
    before = { rows: queueRows(queue), focusedIndex: row ? rows.indexOf(row) : -1 };
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var queue = document.getElementById("queue");
    if (!queue || !before || !event.detail.target || event.detail.target.id !== "queue") { return; }
    var live = queue.closest(".queue-live");
    var news = describeChanges(before.rows, queueRows(queue));
    if (news && live) { live.querySelector(".queue-news").textContent = news; }
    if (before.focusedIndex >= 0 && (document.activeElement === document.body || !document.activeElement)) {
      var links = queue.querySelectorAll("tr[data-escalation] a");
      var next = links[Math.min(before.focusedIndex, links.length - 1)];
      if (next) {
        next.focus();
      } else {
        queue.setAttribute("tabindex", "-1");
        queue.focus();
      }
    }
    if (live) { live.dataset.refreshes = String(Number(live.dataset.refreshes || 0) + 1); }
    before = null;
  });

  // --- The top bar's menu ----------------------------------------------------------------
  // A <details>: it opens and closes without JavaScript. Escape closes it (and gives focus
  // back to its summary); so does a click or focus anywhere else.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (menu !== except) { menu.removeAttribute("open"); }
    });
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var menu = document.activeElement && document.activeElement.closest("details.menu[open]");
    if (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", function (event) {
    closeMenus(event.target.closest && event.target.closest("details.menu"));
  });
  document.addEventListener("focusin", function (event) {
    closeMenus(event.target.closest && event.target.closest("details.menu"));
  });

  // --- After an action -------------------------------------------------------------------
  // A form post redirects back with a #fragment naming the control used, or the one next
  // to it (web.pages.redirect). Focus it, so a keyboard user carries on from there rather
  // than from the top of the page; show the flash message beside it and make it the
  // control's description, so a screen reader reads the outcome with it.
  function focusAfterAction() {
    var flash = document.getElementById("flash");
    var id = window.location.hash ? decodeURIComponent(window.location.hash.slice(1)) : "";
    var target = id && document.getElementById(id);
    if (!flash || !target) { return; }
    if (target.disabled) { target = target.closest("section, form") || target; }
    if (/^H[1-6]$/.test(target.tagName)) {
      target.insertAdjacentElement("afterend", flash);
    } else if (target.tagName === "LI") {
      target.insertAdjacentElement("afterbegin", flash);
    } else {
      (target.closest("form") || target).insertAdjacentElement("beforebegin", flash);
    }
    if (!target.matches("a[href], button, input, select, textarea, summary, [tabindex]")) {
      target.setAttribute("tabindex", "-1");
    }
    var described = target.getAttribute("aria-describedby");
    target.setAttribute("aria-describedby", described ? described + " flash" : "flash");
    target.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusAfterAction);
  } else {
    focusAfterAction();
  }
})();
