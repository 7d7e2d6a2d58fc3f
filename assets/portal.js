// Eligo portal: comfort only. Every page works without this file; the CSP forbids inline
// scripts, so all behaviour hangs off data- attributes.
(function () {
  "use strict";

  // <time datetime="..." data-countdown>: a live "1 h 02 min left" next to an end time.
  function left(ms) {
    if (ms <= 0) return "ended";
    var s = Math.floor(ms / 1000);
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
    var m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (d > 0) return d + " d " + h + " h left";
    if (h > 0) return h + " h " + String(m).padStart(2, "0") + " min left";
    return m + " min " + String(sec).padStart(2, "0") + " s left";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-countdown]").forEach(function (el) {
      var end = Date.parse(el.getAttribute("datetime"));
      if (isNaN(end)) return;
      var out = el.parentNode.querySelector(".countdown");
      if (!out) {
        out = document.createElement("span");
        out.className = "countdown";
        out.setAttribute("aria-hidden", "true");
        el.insertAdjacentElement("afterend", out);
      }
      out.textContent = " (" + left(end - now) + ")";
    });
  }

  // <button data-confirm="...">: ask before a consequential action.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("[data-confirm]");
    if (btn && !window.confirm(btn.getAttribute("data-confirm"))) ev.preventDefault();
  });

  // A form submits once: a second click while the first post is on its way does nothing.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (form.dataset.submitted === "1") {
      ev.preventDefault();
      return;
    }
    form.dataset.submitted = "1";
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      b.setAttribute("aria-disabled", "true");
    });
  });

  // <select data-autosubmit>: filters apply when changed (the form still has a button).
  document.addEventListener("change", function (ev) {
    if (ev.target.matches("select[data-autosubmit]")) ev.target.form.requestSubmit();
  });

  // Times in the viewer's zone. The server writes every time as <time datetime="...Z"> with
  // UTC text; here the text becomes local time with the zone's name (the UTC text stays as the
  // title). A datetime-local field marked data-local-time is read in this zone: on submit its
  // offset from UTC at the typed moment goes along in the hidden field data-offset-for names.
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  function pad(n) { return String(n).padStart(2, "0"); }
  function zoneLabel(d) {
    try {
      var parts = new Intl.DateTimeFormat(undefined, { timeZoneName: "short" }).formatToParts(d);
      var z = parts.find(function (p) { return p.type === "timeZoneName"; });
      return z ? z.value : zone;
    } catch (e) { return zone; }
  }
  function localise() {
    document.querySelectorAll("time[datetime]").forEach(function (el) {
      if (el.dataset.localised === "1") return;
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d.getTime()) || !/Z$/.test(el.getAttribute("datetime"))) return;
      el.title = el.textContent;
      el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
        " " + pad(d.getHours()) + ":" + pad(d.getMinutes()) + " " + zoneLabel(d);
      el.dataset.localised = "1";
    });
    // A time the server filled in (UTC, in data-utc) is shown in this zone, which is how the
    // field is read on submit.
    document.querySelectorAll("input[data-local-time][data-utc]").forEach(function (el) {
      if (el.dataset.localised === "1") return;
      var d = new Date(el.getAttribute("data-utc"));
      if (isNaN(d.getTime())) return;
      el.value = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) +
        "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
      el.dataset.localised = "1";
    });
    document.querySelectorAll("[data-zone-name]").forEach(function (el) {
      if (zone) el.textContent = "your time zone (" + zone + ")";
    });
  }
  document.addEventListener("submit", function (ev) {
    ev.target.querySelectorAll("input[data-offset-for]").forEach(function (hidden) {
      var field = ev.target.querySelector("#" + hidden.getAttribute("data-offset-for"));
      if (!field || !field.value) { hidden.value = ""; return; }
      var d = new Date(field.value);
      hidden.value = isNaN(d.getTime()) ? "" : String(-d.getTimezoneOffset());
    });
  }, true);

  // Tables on phones: each cell carries its column's name, which the stacked layout shows.
  function labelCells() {
    document.querySelectorAll(".table-wrap table").forEach(function (table) {
      var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      if (!heads.length) return;
      table.querySelectorAll("tbody tr").forEach(function (tr) {
        Array.prototype.forEach.call(tr.children, function (cell, i) {
          if (heads[i] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", heads[i]);
        });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    labelCells();
    localise();
    tick();
    if (document.querySelector("time[data-countdown]")) setInterval(tick, 1000);
  });
})();
