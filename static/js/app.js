// Progressive enhancements; every page works without JavaScript.
(function () {
  "use strict";

  var toggle = document.querySelector(".nav-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var nav = document.getElementById("site-nav");
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // Ask before destructive actions (forms carrying data-confirm).
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) { event.preventDefault(); }
  });

  function debounce(fn, ms) {
    var timer;
    return function () { var args = arguments; clearTimeout(timer); timer = setTimeout(function () { fn.apply(null, args); }, ms); };
  }

  // Waste-code picker: suggestions from the European List of Waste as the user types a code or a word.
  document.querySelectorAll("[data-waste-picker]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var label = document.getElementById("waste-code-label");
    var known = {};
    var lookup = debounce(function () {
      var q = input.value.trim();
      if (q.length < 2) { return; }
      fetch(input.getAttribute("data-waste-picker") + "?q=" + encodeURIComponent(q), { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          list.innerHTML = "";
          data.results.forEach(function (w) {
            var option = document.createElement("option");
            option.value = w.code;
            option.textContent = w.code + (w.hazardous ? "* " : " ") + w.label;
            option.label = (w.hazardous ? "⚠ dangereux — " : "") + w.label;
            list.appendChild(option);
            known[w.code] = w;
          });
          describe();
        });
    }, 200);
    function describe() {
      var w = known[input.value.trim()];
      if (label) { label.textContent = w ? (w.code + (w.hazardous ? "* (dangereux) " : " ") + "— " + w.label) : ""; }
    }
    input.addEventListener("input", function () { describe(); lookup(); });
    if (input.value) { lookup(); }
  });

  // Commune suggestions for a postcode.
  document.querySelectorAll("[data-communes]").forEach(function (input) {
    var city = document.getElementById(input.getAttribute("data-communes"));
    var list = city && document.getElementById(city.getAttribute("list"));
    input.addEventListener("input", debounce(function () {
      var pc = input.value.trim();
      if (!/^\d{5}$/.test(pc) || !list) { return; }
      fetch("/entreprises/communes/" + pc).then(function (r) { return r.json(); }).then(function (data) {
        list.innerHTML = "";
        data.communes.forEach(function (name) { var o = document.createElement("option"); o.value = name; list.appendChild(o); });
        if (data.communes.length === 1 || (data.communes.length && !city.value)) { city.value = data.communes[0]; }
      });
    }, 250));
  });

  // Territory form: show only the fields of the chosen definition.
  var kind = document.querySelector("select#kind");
  if (kind && document.querySelector("[data-kind]")) {
    var sync = function () {
      document.querySelectorAll("[data-kind]").forEach(function (el) { el.hidden = el.getAttribute("data-kind") !== kind.value; });
    };
    kind.addEventListener("change", sync);
    sync();
  }

  // Auction countdowns ("dernières enchères", end of a timed round): the server's time is given with
  // the page, so a phone whose clock is off still counts down right. Also works for swapped HTMX parts.
  function tickCountdowns() {
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (!el.hasAttribute("data-offset")) {
        el.setAttribute("data-offset", String(Date.parse(el.getAttribute("data-now")) - Date.now()));
      }
      var left = Date.parse(el.getAttribute("data-countdown")) - (Date.now() + Number(el.getAttribute("data-offset")));
      var seconds = Math.max(0, Math.ceil(left / 1000));
      var text;
      if (seconds >= 86400) { text = Math.floor(seconds / 86400) + " j " + Math.floor((seconds % 86400) / 3600) + " h"; }
      else if (seconds >= 3600) { text = Math.floor(seconds / 3600) + " h " + String(Math.floor((seconds % 3600) / 60)).padStart(2, "0") + " min"; }
      else { text = Math.floor(seconds / 60) + ":" + String(seconds % 60).padStart(2, "0"); }
      el.textContent = text;
      el.classList.toggle("ending", seconds <= 10);
      el.classList.toggle("ended", seconds === 0);
    });
  }
  if (document.querySelector("[data-countdown]") || document.querySelector("[hx-trigger]")) {
    tickCountdowns();
    window.setInterval(tickCountdowns, 250);
  }
})();
