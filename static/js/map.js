// Small listing map. Without a configured tile server nothing is loaded from outside:
// nearby communes are drawn as points so the location still reads on the map.
(function () {
  "use strict";
  var el = document.getElementById("listing-map");
  if (!el || typeof L === "undefined") { return; }
  var lat = parseFloat(el.getAttribute("data-lat")), lon = parseFloat(el.getAttribute("data-lon"));
  var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 10);
  // Leaflet reads a string tooltip as HTML: names typed by people (a site's commune) go in as text.
  function text(value) {
    var span = document.createElement("span");
    span.textContent = value || "";
    return span;
  }
  L.control.scale({ imperial: false }).addTo(map);
  var tiles = el.getAttribute("data-tiles");
  if (tiles) {
    L.tileLayer(tiles, { maxZoom: 18, attribution: el.getAttribute("data-attribution") || "" }).addTo(map);
  } else {
    var data = document.getElementById("listing-map-places");
    var places = data ? JSON.parse(data.textContent) : [];
    places.forEach(function (p) {
      L.circleMarker([p[0], p[1]], { radius: 2, color: "#8a9a91", weight: 1, fillOpacity: 0.6 })
        .bindTooltip(text(p[2])).addTo(map);
    });
  }
  L.circleMarker([lat, lon], { radius: 9, color: "#1f6f4a", weight: 3, fillColor: "#1f6f4a", fillOpacity: 0.4 })
    .bindTooltip(text(el.getAttribute("data-label")), { permanent: true, direction: "top" }).addTo(map);
})();
