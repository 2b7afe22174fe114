// Territory reports: two Chart.js charts and a Leaflet map drawn from the page's JSON block
// (#reports-data). The figures of every chart are also in the page's tables. Without a configured
// tile server nothing is loaded from outside: the map shows its points and lines on a plain background.
(function () {
  "use strict";
  var source = document.getElementById("reports-data");
  if (!source) { return; }
  var data = JSON.parse(source.textContent);
  var GREEN = "#1f6f4a", AMBER = "#c98a1b", GREY = "#8a9a91";
  var reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function bars(id, chart, options) {
    var canvas = document.getElementById(id);
    if (!canvas || typeof Chart === "undefined") { return; }
    var colours = [GREEN, AMBER, GREY];
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: chart.labels,
        datasets: chart.datasets.map(function (d, i) {
          return { label: d.label, data: d.data, backgroundColor: colours[i % colours.length] };
        })
      },
      options: Object.assign({
        responsive: true,
        maintainAspectRatio: false,
        animation: reduceMotion ? false : undefined,
        plugins: { title: { display: true, text: chart.title }, legend: { position: "bottom" } }
      }, options)
    });
  }

  bars("chart-groups", data.groups, {
    scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } }
  });
  bars("chart-benefits", data.benefits, {
    indexAxis: "y",
    scales: { x: { beginAtZero: true } }
  });

  var el = document.getElementById("report-map");
  if (!el || typeof L === "undefined" || !data.map) { return; }
  var words = data.words, m = data.map;
  var map = L.map(el, { scrollWheelZoom: false, preferCanvas: true });
  L.control.scale({ imperial: false }).addTo(map);
  var tiles = el.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 18, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
  }

  function link(base, id, text) {
    var a = document.createElement("a");
    a.href = base.replace(/0$/, String(id));
    a.textContent = text;
    return a;
  }

  // Leaflet reads a string tooltip as HTML: company and site names go in as text.
  function text(value) {
    var span = document.createElement("span");
    span.textContent = value;
    return span;
  }

  var bounds = [];
  var sites = L.layerGroup(), resources = L.layerGroup(), synergies = L.layerGroup();
  var where = {};
  m.sites.forEach(function (s) {
    // [id, lat, lon, company, site label]
    where[s[0]] = [s[1], s[2]];
    bounds.push([s[1], s[2]]);
    L.circleMarker([s[1], s[2]], { radius: 6, color: GREEN, weight: 2, fillColor: GREEN, fillOpacity: 0.35 })
      .bindTooltip(text(s[3] + " · " + s[4])).addTo(sites);
  });
  m.resources.forEach(function (r) {
    // [site id, offers, needs, [[listing id, kind, title], …]]
    var at = where[r[0]];
    if (!at) { return; }
    var box = document.createElement("div");
    var head = document.createElement("strong");
    head.textContent = r[1] + " " + words.offers + " · " + r[2] + " " + words.needs;
    box.appendChild(head);
    var list = document.createElement("ul");
    r[3].forEach(function (l) {
      var item = document.createElement("li");
      item.appendChild(link(words.listing_url, l[0], l[2]));
      list.appendChild(item);
    });
    box.appendChild(list);
    L.circleMarker(at, { radius: 4 + Math.min(8, r[1] + r[2]), color: AMBER, weight: 2, fillColor: AMBER,
                         fillOpacity: 0.5 })
      .bindPopup(box).addTo(resources);
  });
  m.synergies.forEach(function (s) {
    // [id, title, kind, group, [lat, lon] giver, [lat, lon] taker]
    bounds.push(s[4], s[5]);
    var box = document.createElement("div");
    box.appendChild(link(words.synergy_url, s[0], s[1]));
    box.appendChild(document.createTextNode(" · " + s[2] + " · " + (words.groups[s[3]] || s[3])));
    L.polyline([s[4], s[5]], { color: s[2] === "TH" ? AMBER : GREEN, weight: 3, opacity: 0.75,
                               dashArray: s[3] === "stopped" ? "6 6" : null })
      .bindPopup(box).addTo(synergies);
    L.circleMarker(s[5], { radius: 3, color: GREY, weight: 1, fillOpacity: 0.8 }).addTo(synergies);
  });
  sites.addTo(map);
  resources.addTo(map);
  synergies.addTo(map);
  var overlays = {};
  overlays[words.companies] = sites;
  overlays[words.resources] = resources;
  overlays[words.synergies] = synergies;
  L.control.layers(null, overlays, { collapsed: false }).addTo(map);
  if (bounds.length) {
    map.fitBounds(bounds, { padding: [24, 24], maxZoom: 12 });
  } else {
    map.setView([46.6, 2.4], 5);
  }
})();
