/* Bar charts on a <canvas>, hand-written for the command office's page (no library, no network).
 *
 * CordonCharts.bars(canvas, {labels: [...], series: [{name, color, values: [...]}], stacked: bool})
 * draws grouped (or stacked) bars with a value axis and a legend, and marks the canvas
 * data-drawn="bars:<n>" with the number of bars drawn.
 */
(function () {
  "use strict";

  function niceMax(value) {
    if (value <= 5) return 5;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (step * power >= value) return step * power;
    }
    return 10 * power;
  }

  function fit(ctx, text, width) {
    if (ctx.measureText(text).width <= width) return text;
    let cut = text;
    while (cut.length > 1 && ctx.measureText(cut + "…").width > width) cut = cut.slice(0, -1);
    return cut + "…";
  }

  function bars(canvas, spec) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 460;
    const height = canvas.clientHeight || 260;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = "12px " + getComputedStyle(document.body).fontFamily;
    const labels = spec.labels || [];
    const series = spec.series || [];
    const totals = labels.map((_, i) =>
      spec.stacked ? series.reduce((sum, s) => sum + (s.values[i] || 0), 0) : Math.max(0, ...series.map((s) => s.values[i] || 0)));
    const top = niceMax(Math.max(0, ...totals));
    const left = 44, right = 10, legend = 24, bottom = 38;
    const plotW = width - left - right, plotH = height - legend - bottom;
    // Legend.
    let x = left;
    series.forEach((s) => {
      ctx.fillStyle = s.color;
      ctx.fillRect(x, 6, 10, 10);
      ctx.fillStyle = "#1f2933";
      ctx.textBaseline = "middle";
      ctx.fillText(s.name, x + 14, 11);
      x += 24 + ctx.measureText(s.name).width;
    });
    // Value axis and grid.
    ctx.strokeStyle = "#dde3ea";
    ctx.fillStyle = "#6b7785";
    ctx.textAlign = "right";
    for (let i = 0; i <= 5; i++) {
      const y = legend + plotH - (plotH * i) / 5;
      ctx.beginPath(); ctx.moveTo(left, y + 0.5); ctx.lineTo(width - right, y + 0.5); ctx.stroke();
      ctx.fillText(String(Math.round((top * i) / 5)), left - 6, y);
    }
    if (!labels.length) {
      ctx.textAlign = "center";
      ctx.fillText(spec.empty || "—", left + plotW / 2, legend + plotH / 2);
      canvas.dataset.drawn = "bars:0";
      return;
    }
    const band = plotW / labels.length;
    const groups = spec.stacked ? 1 : Math.max(1, series.length);
    const barW = Math.max(2, Math.min(36, (band * 0.7) / groups));
    let drawn = 0;
    labels.forEach((label, i) => {
      const start = left + band * i + (band - barW * groups) / 2;
      let base = legend + plotH;
      series.forEach((s, k) => {
        const value = s.values[i] || 0;
        const h = (plotH * value) / top;
        ctx.fillStyle = s.color;
        if (spec.stacked) {
          ctx.fillRect(start, base - h, barW, h);
          base -= h;
        } else {
          ctx.fillRect(start + barW * k, legend + plotH - h, barW, h);
        }
        if (value) drawn += 1;
      });
      ctx.fillStyle = "#1f2933";
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      ctx.fillText(fit(ctx, String(label), band - 4), left + band * i + band / 2, legend + plotH + 6);
      ctx.textBaseline = "middle";
    });
    canvas.dataset.drawn = "bars:" + drawn;
  }

  window.CordonCharts = { bars: bars };
})();
