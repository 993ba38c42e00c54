(function () {
  "use strict";
  // The report's only script. Its sha256 is in the page's Content-Security-Policy, so it
  // must stay a constant file. It never builds HTML from data: it reads the JSON block
  // with JSON.parse and only writes textContent.
  var block = document.getElementById("dataqa-data");
  var data = {};
  try {
    data = block ? JSON.parse(block.textContent) : {};
  } catch (e) {
    data = {};
  }
  var root = document.documentElement;
  root.setAttribute("data-dq-ready", "1");
  root.setAttribute("data-dq-kind", String(data.kind || ""));

  function cellKey(row, col, numeric) {
    var cell = row.cells[col];
    if (!cell) return numeric ? -Infinity : "";
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (numeric) {
      var n = parseFloat(String(raw).replace(/[^0-9.eE+-]/g, ""));
      return isNaN(n) ? -Infinity : n;
    }
    return String(raw).toLowerCase();
  }

  function setupTable(wrap) {
    var table = wrap.querySelector("table");
    var tbody = table && table.tBodies[0];
    if (!tbody) return;
    var rows = Array.prototype.slice.call(tbody.rows);
    var haystack = rows.map(function (r) { return r.textContent.toLowerCase(); });
    var tools = wrap.querySelector(".tools");
    var search = wrap.querySelector("input[type=search]");
    var sevSel = wrap.querySelector("select[data-filter=severity]");
    var checkSel = wrap.querySelector("select[data-filter=check]");
    var status = wrap.querySelector(".status");
    if (tools) tools.hidden = false;

    function apply() {
      var q = search ? search.value.trim().toLowerCase() : "";
      var sev = sevSel ? sevSel.value : "";
      var chk = checkSel ? checkSel.value : "";
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i];
        var ok = (!q || haystack[i].indexOf(q) !== -1) &&
          (!sev || r.getAttribute("data-severity") === sev) &&
          (!chk || r.getAttribute("data-check") === chk);
        r.hidden = !ok;
        if (ok) shown++;
      }
      if (status) status.textContent = "Showing " + shown + " of " + rows.length + " rows";
    }

    [search, sevSel, checkSel].forEach(function (el) {
      if (el) el.addEventListener("input", apply);
      if (el) el.addEventListener("change", apply);
    });

    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      var btn = th.querySelector("button");
      if (!btn) return;
      btn.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) {
          if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none");
        });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var order = rows.map(function (r, i) { return i; });
        order.sort(function (a, b) {
          var ka = cellKey(rows[a], col, numeric), kb = cellKey(rows[b], col, numeric);
          var c = ka < kb ? -1 : ka > kb ? 1 : a - b;
          return asc ? c : -c;
        });
        var frag = document.createDocumentFragment();
        order.forEach(function (i) { frag.appendChild(rows[i]); });
        tbody.appendChild(frag);
      });
    });
    apply();
  }

  Array.prototype.forEach.call(document.querySelectorAll(".dq-table"), setupTable);
})();
