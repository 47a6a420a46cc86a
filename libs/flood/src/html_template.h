// The self-contained HTML report: a static summary table, static SVG charts drawn in C++
// (svg_chart.cc; they need no JavaScript), the report's JSON in a data element, and a small script
// (written for sluice, no library, no network) that redraws four of the charts and hides their
// static twins. Placeholders: @@TITLE@@ @@VERDICT@@ @@STARTED@@ @@ROWS@@ @@SVG_*@@ @@DATA@@
// (replaced by report_html.cc).
#pragma once

namespace sluice::flood {

inline constexpr char kHtmlTemplate[] = R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>@@TITLE@@</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; }
.verdict { display: inline-block; padding: 2px 8px; border-radius: 4px; color: #fff; }
.verdict.pass { background: #2e7d32; } .verdict.fail { background: #c62828; }
table.summary { border-collapse: collapse; margin: 16px 0; width: 100%; }
table.summary th { text-align: left; width: 260px; font-weight: 600; }
table.summary th, table.summary td { border-bottom: 1px solid #eee; padding: 4px 8px; }
figure { margin: 24px 0; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart-svg { width: 100%; height: auto; background: #fafafa; border: 1px solid #eee; }
svg .axis { stroke: #999; } svg .grid { stroke: #e5e5e5; }
svg text { font: 11px system-ui, sans-serif; fill: #555; }
svg path.series { fill: none; stroke-width: 1.8; }
.charts-note { color: #666; font-size: 12px; }
.empty { color: #888; font-style: italic; }
</style>
</head>
<body>
<h1>@@TITLE@@ <span class="verdict @@VERDICT@@">@@VERDICT@@</span></h1>
<div>started @@STARTED@@</div>
<table class="summary">
@@ROWS@@</table>
<p class="charts-note">The charts below are static SVG and read without JavaScript; with JavaScript on, the four marked &#x2731; are redrawn by the page's script.</p>
<figure><figcaption>Produced vs delivered per second &#x2731;</figcaption><div class="static" data-js="1" id="static-throughput">@@SVG_THROUGHPUT@@</div><div id="chart-throughput" class="chart"></div></figure>
<figure><figcaption>Events so far (cumulative)</figcaption><div class="static" id="static-cumulative">@@SVG_CUMULATIVE@@</div></figure>
<figure><figcaption>Backlog (consumer-group lag) over time &#x2731;</figcaption><div class="static" data-js="1" id="static-backlog">@@SVG_BACKLOG@@</div><div id="chart-backlog" class="chart"></div></figure>
<figure><figcaption>End-to-end latency percentiles over time (intended send &rarr; ledger, by delivery time)</figcaption><div class="static" id="static-latency-time">@@SVG_LATENCY@@</div></figure>
<figure><figcaption>End-to-end latency distribution</figcaption><div class="static" id="static-latency-distribution">@@SVG_DISTRIBUTION@@</div></figure>
<figure><figcaption>End-to-end latency percentiles, whole run &#x2731;</figcaption><div class="static" data-js="1" id="static-latency">@@SVG_PERCENTILES@@</div><div id="chart-latency" class="chart"></div></figure>
<figure><figcaption>Errors &#x2731;</figcaption><div class="static" data-js="1" id="static-errors">@@SVG_ERRORS@@</div><div id="chart-errors" class="chart"></div></figure>
<script id="flood-data" type="application/json">@@DATA@@</script>
<script>
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var W = 760, H = 280, L = 70, R = 130, T = 14, B = 40;
  var COLORS = ['#1565c0', '#e65100', '#2e7d32', '#6a1b9a', '#c62828', '#00838f', '#9e9d24',
                '#4e342e'];
  var data = JSON.parse(document.getElementById('flood-data').textContent);

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (parent) parent.appendChild(e);
    return e;
  }
  function label(parent, x, y, s, anchor) {
    var t = el('text', {x: x, y: y, 'text-anchor': anchor || 'start'}, parent);
    t.textContent = s;
    return t;
  }
  function fmt(v) {
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(0) + 'k';
    if (a >= 1e3) return (v / 1e3).toFixed(1) + 'k';
    if (a >= 10 || v === 0) return v.toFixed(0);
    return v.toPrecision(2);
  }
  // About n round tick values from 0 to at least max.
  function ticks(max, n) {
    if (!(max > 0) || !isFinite(max)) max = 1;
    var raw = max / n;
    var step = Math.pow(10, Math.floor(Math.log(raw) / Math.LN10));
    var r = raw / step;
    step *= r > 5 ? 10 : r > 2 ? 5 : r > 1 ? 2 : 1;
    var out = [];
    for (var i = 0; i * step < max + step && out.length < 40; i++) out.push(i * step);
    return out;
  }
  function frame(container, xmax, ymax, xlabel, ylabel, noXTicks) {
    var svg = el('svg', {viewBox: '0 0 ' + W + ' ' + H, class: 'chart-svg', role: 'img'});
    container.appendChild(svg);
    var xt = ticks(xmax, 8), yt = ticks(ymax, 5);
    var x1 = xt[xt.length - 1], y1 = yt[yt.length - 1];
    var f = {
      svg: svg,
      x: function (v) { return L + (W - L - R) * v / x1; },
      y: function (v) { return H - B - (H - T - B) * v / y1; }
    };
    yt.forEach(function (v) {
      el('line', {x1: L, x2: W - R, y1: f.y(v), y2: f.y(v), class: 'grid'}, svg);
      label(svg, L - 6, f.y(v) + 4, fmt(v), 'end');
    });
    if (!noXTicks) xt.forEach(function (v) { label(svg, f.x(v), H - B + 14, fmt(v), 'middle'); });
    el('line', {x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis'}, svg);
    el('line', {x1: L, x2: L, y1: T, y2: H - B, class: 'axis'}, svg);
    label(svg, (L + W - R) / 2, H - 6, xlabel, 'middle');
    var yl = label(svg, 14, (T + H - B) / 2, ylabel, 'middle');
    yl.setAttribute('transform', 'rotate(-90 14 ' + (T + H - B) / 2 + ')');
    return f;
  }
  function empty(container, why) {
    var p = document.createElement('p');
    p.className = 'empty';
    p.textContent = why;
    container.appendChild(p);
    return 0;
  }
  // series: [{name, points: [[x, y], ...]}]; returns the number of paths drawn.
  function lineChart(id, xlabel, ylabel, series) {
    var c = document.getElementById(id);
    series = series.filter(function (s) { return s.points.length > 0; });
    if (series.length === 0) return empty(c, 'no data');
    var xmax = 0, ymax = 0;
    series.forEach(function (s) {
      s.points.forEach(function (p) { xmax = Math.max(xmax, p[0]); ymax = Math.max(ymax, p[1]); });
    });
    var f = frame(c, xmax, ymax, xlabel, ylabel);
    series.forEach(function (s, i) {
      var color = COLORS[i % COLORS.length];
      var d = s.points.map(function (p, j) {
        return (j ? 'L' : 'M') + f.x(p[0]).toFixed(1) + ' ' + f.y(p[1]).toFixed(1);
      }).join(' ');
      el('path', {d: d, class: 'series', stroke: color, 'data-series': s.name,
                  'data-x-end': s.points[s.points.length - 1][0]}, f.svg);
      el('rect', {x: W - R + 10, y: T + 16 * i, width: 10, height: 10, fill: color}, f.svg);
      label(f.svg, W - R + 24, T + 9 + 16 * i, s.name);
    });
    return series.length;
  }
  // bars: [{name, value}]; returns the number of bars drawn.
  function barChart(id, ylabel, bars) {
    var c = document.getElementById(id);
    if (bars.length === 0) return empty(c, 'no data');
    var ymax = 0;
    bars.forEach(function (b) { ymax = Math.max(ymax, b.value); });
    var f = frame(c, 1, ymax, '', ylabel, true);
    var slot = (W - L - R) / bars.length, width = Math.min(60, slot * 0.7);
    bars.forEach(function (b, i) {
      var x = L + slot * i + (slot - width) / 2, y = f.y(b.value);
      el('rect', {x: x, y: y, width: width, height: Math.max(0, H - B - y), class: 'bar',
                  fill: COLORS[i % COLORS.length], 'data-bar': b.name}, f.svg);
      label(f.svg, x + width / 2, H - B + 26, b.name, 'middle');
      label(f.svg, x + width / 2, y - 4, fmt(b.value), 'middle');
    });
    return bars.length;
  }

  var samples = data.series || [];
  // Rates between samples as steps (each holds over its interval), from the run's start, where
  // every cumulative figure is 0.
  function rate(field) {
    var out = [];
    var from = samples.length && samples[0].t_s > 0 && samples[0][field] !== null ?
        [{t_s: 0}].concat(samples) : samples;
    if (from !== samples) from[0][field] = 0;
    for (var i = 1; i < from.length; i++) {
      var a = from[i - 1], b = from[i], dt = b.t_s - a.t_s;
      if (dt > 0 && a[field] !== null && b[field] !== null) {
        var r = Math.max(0, (b[field] - a[field]) / dt);
        out.push([a.t_s, r], [b.t_s, r]);
      }
    }
    return out;
  }
  // Counts per bin of bin_s seconds as rate steps over each whole bin.
  function binSteps(counts, bin) {
    var out = [];
    counts.forEach(function (v, i) { out.push([i * bin, v / bin], [(i + 1) * bin, v / bin]); });
    return out;
  }
  function level(field) {
    return samples.filter(function (s) { return s[field] !== null; })
        .map(function (s) { return [s.t_s, s[field]]; });
  }

  var drawn = 0, charts = 0;
  function count(n) { if (n > 0) charts++; drawn += n; }

  var ds = data.delivered_series;
  var delivered = ds && ds.bin_s > 0 && ds.counts && ds.counts.length ?
      binSteps(ds.counts, ds.bin_s) : binSteps(data.delivered_per_s || [], 1);
  if (delivered.length === 0) delivered = rate('delivered');
  count(lineChart('chart-throughput', 'seconds since start', 'events / s', [
    {name: 'produced', points: rate('produced')},
    {name: 'acked', points: rate('acked')},
    {name: 'delivered', points: delivered}
  ]));

  var backlog = [{name: 'backlog', points: level('backlog')}];
  var parts = 0;
  samples.forEach(function (s) { parts = Math.max(parts, (s.lag || []).length); });
  if (parts > 1 && parts <= 6) {
    for (var p = 0; p < parts; p++) {
      backlog.push({name: 'partition ' + p, points: samples.filter(function (s) {
        return s.lag && s.lag.length > p; }).map(function (s) { return [s.t_s, s.lag[p]]; })});
    }
  }
  backlog.push({name: 'DLQ records', points: level('dlq_records')});
  count(lineChart('chart-backlog', 'seconds since start', 'events', backlog));

  var lat = data.latency || {};
  count(lat.count > 0 ? barChart('chart-latency', 'milliseconds', [
    {name: 'p50', value: lat.p50_ms}, {name: 'p90', value: lat.p90_ms},
    {name: 'p99', value: lat.p99_ms}, {name: 'p99.9', value: lat.p999_ms},
    {name: 'max', value: lat.max_ms}
  ]) : empty(document.getElementById('chart-latency'), 'no deliveries measured'));

  var errors = [];
  var codes = (data.api && data.api.errors_by_code) || {};
  Object.keys(codes).sort().forEach(function (k) { errors.push({name: k, value: codes[k]}); });
  var g = data.generator || {};
  errors.push({name: 'produce failed', value: (g.failed || 0) + (g.uncertain || 0)});
  var v = data.verification;
  if (v) {
    errors.push({name: 'missing', value: v.missing});
    errors.push({name: 'dead-lettered', value: v.valid_in_dlq});
    errors.push({name: 'duplicates', value: v.duplicates});
    errors.push({name: 'out of order', value: v.out_of_order});
  }
  count(barChart('chart-errors', 'count', errors));

  // The script's charts replace their static twins.
  Array.prototype.forEach.call(document.querySelectorAll('.static[data-js]'), function (d) {
    d.style.display = 'none';
  });
  document.body.setAttribute('data-charts-rendered', String(charts));
  document.body.setAttribute('data-series-drawn', String(drawn));
})();
</script>
</body>
</html>
)HTML";

}  // namespace sluice::flood
