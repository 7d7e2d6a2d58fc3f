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

  // <input data-picker="users|groups|people|principals">: a search-as-you-type list (the ARIA
  // combobox pattern) fed by /portal/pick. Choosing puts into the field the text that names
  // that one principal; the field stays a plain input, so typing a user name still works.
  var pickerCount = 0;
  function picker(input) {
    var id = "picker-" + (++pickerCount);
    var list = document.createElement("ul");
    list.id = id;
    list.className = "picker-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    input.insertAdjacentElement("afterend", list);
    list.insertAdjacentElement("afterend", status);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", id);
    input.setAttribute("autocomplete", "off");
    var timer = null, active = -1, asked = 0, items = [];

    function close() {
      list.hidden = true;
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }
    function mark(i) {
      active = i;
      Array.prototype.forEach.call(list.children, function (li, j) {
        li.setAttribute("aria-selected", j === i ? "true" : "false");
      });
      if (i >= 0) input.setAttribute("aria-activedescendant", id + "-" + i);
      else input.removeAttribute("aria-activedescendant");
    }
    function choose(i) {
      if (!items[i]) return;
      input.value = items[i].value;
      close();
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function show(results) {
      items = results;
      list.textContent = "";
      results.forEach(function (r, i) {
        var li = document.createElement("li");
        li.id = id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var name = document.createElement("span");
        name.textContent = r.label;
        var detail = document.createElement("span");
        detail.className = "picker-detail";
        detail.textContent = r.detail;
        li.appendChild(name);
        li.appendChild(detail);
        // mousedown, not click: the input's blur would close the list first.
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      status.textContent = results.length ? results.length + " matches" : "No matches";
      if (results.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        mark(-1);
      } else close();
    }
    function search() {
      var q = input.value.trim();
      if (q.length < 2) { close(); return; }
      var mine = ++asked;
      fetch("/portal/pick?kinds=" + encodeURIComponent(input.getAttribute("data-picker")) +
        "&q=" + encodeURIComponent(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (body) { if (mine === asked) show(body.results || []); })
        .catch(function () { close(); });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    input.addEventListener("keydown", function (ev) {
      if (list.hidden) {
        if (ev.key === "ArrowDown" && input.value.trim().length >= 2) { search(); ev.preventDefault(); }
        return;
      }
      if (ev.key === "ArrowDown") { mark(Math.min(active + 1, items.length - 1)); ev.preventDefault(); }
      else if (ev.key === "ArrowUp") { mark(Math.max(active - 1, 0)); ev.preventDefault(); }
      else if (ev.key === "Enter" && active >= 0) { choose(active); ev.preventDefault(); }
      else if (ev.key === "Escape") { close(); ev.preventDefault(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 100); });
  }
  function pickers(root) {
    root.querySelectorAll("input[data-picker]").forEach(function (input) {
      if (input.dataset.pickerReady === "1") return;
      input.dataset.pickerReady = "1";
      picker(input);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pickers(document);
    labelCells();
    localise();
    tick();
    if (document.querySelector("time[data-countdown]")) setInterval(tick, 1000);
  });
})();
