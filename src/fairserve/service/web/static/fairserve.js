// fairserve dashboard: SLA clocks that tick, and live regions refreshed by fetching the page again (no reload).
(function () {
  "use strict";
  var body = document.body;
  var offset = parseFloat(body.dataset.now || "0") - Date.now() / 1000; // server clock minus ours
  var paused = false;
  var failing = false;

  function span(seconds) {
    var s = Math.floor(Math.abs(seconds));
    if (s >= 3600) { return Math.floor(s / 3600) + " h " + String(Math.floor(s % 3600 / 60)).padStart(2, "0") + " m"; }
    if (s >= 60) { return Math.floor(s / 60) + " m " + String(s % 60).padStart(2, "0") + " s"; }
    return s + " s";
  }

  function tick() {
    var now = Date.now() / 1000 + offset;
    document.querySelectorAll(".clock[data-deadline]").forEach(function (el) {
      var left = parseFloat(el.dataset.deadline) - now;
      el.textContent = left > 0 ? span(left) + " left" : "breached " + span(left) + " ago";
    });
  }

  // Narrow screens (a phone, or 200% zoom) show each table row as a card: every cell carries its column's name,
  // and explicit roles keep the table's meaning for screen readers when CSS displays it as blocks.
  function stackTables(root) {
    root.querySelectorAll("table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        th.setAttribute("role", "columnheader");
        return th.textContent.trim();
      });
      table.classList.add("stack");
      table.setAttribute("role", "table");
      table.querySelectorAll("thead, tbody").forEach(function (g) { g.setAttribute("role", "rowgroup"); });
      table.querySelectorAll("tr").forEach(function (tr) {
        tr.setAttribute("role", "row");
        Array.prototype.forEach.call(tr.children, function (cell, i) {
          if (cell.closest("thead")) { return; }
          cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
          if (heads[i]) { cell.dataset.label = heads[i]; }
        });
      });
    });
  }

  var last = {};

  function refresh() {
    if (paused || document.hidden) { return; }
    fetch(window.location.href, { headers: { "X-Fairserve-Live": "1" }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (res.status === 401) { throw new Error("signed-out"); }
        if (!res.ok) { throw new Error("HTTP " + res.status); }
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var now = parseFloat(doc.body.dataset.now || "0");
        if (now) { offset = now - Date.now() / 1000; }
        document.querySelectorAll("[data-live-region]").forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (!fresh || fresh.innerHTML === last[el.id]) { return; }
          if (el.contains(document.activeElement)) { return; } // never pull focus out from under a keyboard user
          last[el.id] = fresh.innerHTML;
          el.innerHTML = fresh.innerHTML;
          stackTables(el);
        });
        tick();
        status("Updated " + new Date().toLocaleTimeString() + ".");
        if (failing) { failing = false; announce("Live updates are back."); }
      })
      .catch(function (err) {
        var text = err.message === "signed-out" ? "Your session has ended: sign in again to see live updates."
                                                : "Live update failed (" + err.message + "); retrying.";
        status(text);
        if (!failing) { failing = true; announce(text); } // said once, not at every try
      });
  }

  // The time of the last update is shown, not announced; a screen reader hears only changes of state.
  function status(text) {
    var el = document.getElementById("live-status");
    if (el) { el.textContent = text; }
  }

  function announce(text) {
    var el = document.getElementById("live-alert");
    if (el) { el.textContent = text; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-region]").forEach(function (el) { last[el.id] = el.innerHTML; });
    stackTables(document);
    tick();
    window.setInterval(tick, 1000);
    if (body.dataset.live === "1") {
      var every = 2000;
      window.setInterval(refresh, every);
      var toggle = document.getElementById("live-toggle");
      if (toggle) {
        toggle.addEventListener("click", function () {
          paused = !paused;
          toggle.setAttribute("aria-pressed", paused ? "true" : "false");
          toggle.textContent = paused ? "Resume live updates" : "Pause live updates";
          status(paused ? "Live updates paused." : "Live updates resumed.");
          announce(paused ? "Live updates paused." : "Live updates resumed.");
        });
      }
    }
  });
}());
