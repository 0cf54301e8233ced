// Hover values on the server-rendered charts (platform/charts.py): the point of each series
// nearest the pointer, in one tooltip. Our own few lines; without them the points' <title>s
// still show one value at a time.
(function () {
  "use strict";
  var tip = null;

  function tooltip() {
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tip";
      tip.setAttribute("role", "status");
      tip.hidden = true;
      document.body.appendChild(tip);
    }
    return tip;
  }

  document.addEventListener("pointermove", function (event) {
    var svg = event.target.closest ? event.target.closest(".chart svg") : null;
    var box = tooltip();
    if (!svg || !svg.getScreenCTM()) { box.hidden = true; return; }
    var point = svg.createSVGPoint();
    point.x = event.clientX; point.y = event.clientY;
    var x = point.matrixTransform(svg.getScreenCTM().inverse()).x;
    var lines = [];
    svg.querySelectorAll("g.series").forEach(function (series) {
      var best = null, distance = Infinity;
      series.querySelectorAll("circle").forEach(function (circle) {
        var d = Math.abs(circle.cx.baseVal.value - x);
        if (d < distance) { distance = d; best = circle; }
      });
      if (best && distance < 24) lines.push(best.querySelector("title").textContent);
    });
    if (!lines.length) { box.hidden = true; return; }
    box.textContent = lines.join("\n");
    box.hidden = false;
    box.style.left = Math.min(event.pageX + 14, window.scrollX + document.documentElement.clientWidth - 260) + "px";
    box.style.top = (event.pageY + 14) + "px";
  });

  // On a phone a chart wider than the screen scrolls sideways (app.css); it opens at its right
  // end, the newest data, which otherwise sat off-screen and the chart looked empty.
  function newestInView(root) {
    (root || document).querySelectorAll(".chart").forEach(function (chart) {
      if (chart.scrollWidth > chart.clientWidth) chart.scrollLeft = chart.scrollWidth;
    });
  }
  document.addEventListener("DOMContentLoaded", function () { newestInView(); });
  document.addEventListener("htmx:afterSettle", function (event) { newestInView(event.target); });
})();
