// The reports' charts: each <canvas data-chart="ID"> is drawn by Chart.js (vendor/chart.js)
// from the JSON in <script type="application/json" id="ID"> that the page embeds.
(function () {
  "use strict";

  function options(spec) {
    var axes = spec.kind === "doughnut" ? {} : {
      x: { stacked: spec.stacked },
      y: { stacked: spec.stacked, beginAtZero: true }
    };
    return {
      animation: false,
      maintainAspectRatio: false,
      scales: axes,
      plugins: { legend: { display: spec.datasets.length > 1 || spec.kind === "doughnut" } }
    };
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) return;
    var spec = JSON.parse(source.textContent);
    new window.Chart(canvas, {
      type: spec.kind,
      data: { labels: spec.labels, datasets: spec.datasets },
      options: options(spec)
    });
  }

  function start() {
    if (!window.Chart) return;  // the page's tables still show every figure
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
