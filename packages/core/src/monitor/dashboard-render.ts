/**
 * Browser-side rendering helpers of the dashboard (plain ES2020, run inside the page's IIFE
 * together with DASHBOARD_APP_JS). Every text goes in through text nodes or textContent, never
 * innerHTML: worker figures, event messages and log lines come from the app and are untrusted.
 * Written without template literals so it can live in a String.raw template here.
 */
export const DASHBOARD_RENDER_JS = String.raw`
var MIB = 1048576;
var SVG_NS = 'http://www.w3.org/2000/svg';

function h(tag, props, children) {
  var el = document.createElement(tag);
  Object.keys(props || {}).forEach(function (key) {
    var value = props[key];
    if (value === undefined || value === null || value === false) return;
    if (key === 'className') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key.indexOf('on') === 0) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, String(value));
  });
  (children || []).forEach(function (child) {
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  });
  return el;
}

function svg(tag, attrs, text) {
  var el = document.createElementNS(SVG_NS, tag);
  Object.keys(attrs).forEach(function (key) { el.setAttribute(key, String(attrs[key])); });
  if (text !== undefined) el.textContent = text;
  return el;
}

function isNum(v) { return typeof v === 'number' && isFinite(v); }
function fmtInt(v) { return isNum(v) ? Math.round(v).toLocaleString('en-US') : '\u2013'; }
function fmtMiB(bytes) { return isNum(bytes) ? (bytes / MIB).toFixed(1) : '\u2013'; }
function fmtFixed(v, digits) { return isNum(v) ? v.toFixed(digits) : '\u2013'; }
function fmtSize(bytes) {
  if (!isNum(bytes)) return '\u2013';
  if (bytes < 1024) return bytes + ' B';
  if (bytes < MIB) return (bytes / 1024).toFixed(1) + ' KiB';
  return (bytes / MIB).toFixed(1) + ' MiB';
}
function fmtDuration(seconds) {
  if (!isNum(seconds)) return '\u2013';
  var s = Math.max(0, Math.floor(seconds));
  var d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d > 0) return d + 'd ' + hr + 'h';
  if (hr > 0) return hr + 'h ' + m + 'm';
  if (m > 0) return m + 'm ' + (s % 60) + 's';
  return s + 's';
}
function fmtClock(ms) { return new Date(ms).toLocaleTimeString(); }

var STATE_PILL = { listening: 'ok', starting: 'warn', draining: 'warn', dead: 'bad',
  running: 'ok', reloading: 'warn', 'shutting-down': 'warn', stopping: 'warn', 'gave-up': 'bad' };
function pill(text) { return h('span', { className: 'pill ' + (STATE_PILL[text] || ''), text: text }); }

function workerUptime(w) { return isNum(w.uptime) ? w.uptime : (Date.now() - w.startedAt) / 1000; }

function workerRow(w, onRestart) {
  var live = w.state === 'listening' || w.state === 'starting';
  var cells = [
    w.pid, w.id, pill(w.state), fmtDuration(workerUptime(w)), fmtMiB(w.rss), fmtMiB(w.heapUsed),
    fmtFixed(w.cpu, 1), fmtFixed(w.eventLoopDelay, 2), fmtInt(w.connections), fmtInt(w.upgraded), fmtInt(w.requests),
    fmtInt(w.inFlight), fmtInt(w.restarts),
  ].map(function (value) { return h('td', {}, [value]); });
  var button = h('button', { className: 'small', 'data-testid': 'worker-restart', disabled: !live,
    title: 'Replace this worker (a new one starts before it drains)', onclick: function () { onRestart(w.pid); } }, ['Restart']);
  cells.push(h('td', {}, [button]));
  return h('tr', { 'data-testid': 'worker-row', 'data-pid': w.pid, 'data-state': w.state }, cells);
}

function renderWorkers(tbody, workers, onRestart) {
  if (workers.length === 0) {
    tbody.replaceChildren(h('tr', {}, [h('td', { className: 'empty', colspan: 14, text: 'no workers' })]));
    return;
  }
  tbody.replaceChildren.apply(tbody, workers.map(function (w) { return workerRow(w, onRestart); }));
}

function card(label, value, testid) {
  return h('div', { className: 'card', 'data-testid': testid }, [
    h('div', { className: 'label', text: label }), h('div', { className: 'value', text: value }),
  ]);
}

function renderTotals(container, s, rate) {
  var restarts = Object.keys(s.restarts || {}).reduce(function (sum, k) { return sum + s.restarts[k]; }, 0);
  container.replaceChildren(
    card('Workers', s.totals.workers + ' / ' + s.master.noWorkers, 'total-workers'),
    card('Requests', fmtInt(s.totals.requests), 'total-requests'),
    card('Requests/s', isNum(rate) ? rate.toFixed(1) : '\u2013', 'total-rate'),
    card('In flight', fmtInt(s.totals.inFlight), 'total-inflight'),
    card('Connections', fmtInt(s.totals.connections), 'total-connections'),
    card('Idle closes', fmtInt(s.totals.idleCloses), 'total-idle-closes'),
    card('Memory (RSS)', fmtMiB(s.totals.rss) + ' MiB', 'total-rss'),
    card('Restarts', fmtInt(restarts), 'total-restarts'),
  );
}

function eventText(e) {
  var parts = [];
  if (e.pid) parts.push('pid ' + e.pid);
  if (e.reason) parts.push(e.reason);
  if (e.code !== undefined && e.code !== null) parts.push('code ' + e.code);
  if (e.signal) parts.push(e.signal);
  if (e.delay !== undefined) parts.push('in ' + e.delay + ' ms');
  if (e.sockets !== undefined) parts.push(e.sockets + ' open');
  if (e.message) parts.push(e.message);
  return parts.join(' \u00b7 ');
}

function renderEvents(list, events) {
  if (events.length === 0) {
    list.replaceChildren(h('li', { className: 'muted', text: 'no events yet' }));
    return;
  }
  list.replaceChildren.apply(list, events.slice(-100).reverse().map(function (e) {
    return h('li', { 'data-testid': 'event', 'data-type': e.type }, [
      h('time', { text: fmtClock(e.time) }), h('span', { className: 'type', text: e.type }), h('span', { text: eventText(e) }),
    ]);
  }));
}

var MIN_SPAN_MS = 60000;

/**
 * Line chart of points [{t, v}] over the last windowMs; svg has a 600x150 viewBox. History starts
 * when the page opens, so until it covers windowMs the time axis spans what there is (at least
 * a minute) instead of squeezing the first points against the right edge.
 */
function drawChart(el, points, windowMs, variant, unit) {
  var W = 600, H = 150, top = 10, bottom = 20, left = 4, now = Date.now();
  var shown = points.filter(function (p) { return isNum(p.v) && p.t >= now - windowMs; });
  var span = shown.length > 0 ? Math.min(windowMs, Math.max(MIN_SPAN_MS, now - shown[0].t)) : windowMs;
  var spanSeconds = Math.round(span / 1000);
  var max = shown.reduce(function (m, p) { return Math.max(m, p.v); }, 0);
  max = max > 0 ? niceCeil(max) : 1;
  var x = function (t) { return left + ((t - (now - span)) / span) * (W - left); };
  var y = function (v) { return top + (1 - v / max) * (H - top - bottom); };
  var nodes = [0, 0.5, 1].map(function (f) { return svg('line', { x1: 0, x2: W, y1: y(max * f), y2: y(max * f), class: 'grid' }); });
  nodes.push(svg('text', { x: left + 2, y: top + 10, class: 'axis' }, max.toLocaleString('en-US') + ' ' + unit));
  nodes.push(svg('text', { x: left + 2, y: H - 4, class: 'axis' }, (spanSeconds % 60 ? fmtDuration(spanSeconds) : spanSeconds / 60 + ' min') + ' ago'));
  nodes.push(svg('text', { x: W - 26, y: H - 4, class: 'axis' }, 'now'));
  if (shown.length > 1) {
    var line = shown.map(function (p, i) { return (i ? 'L' : 'M') + x(p.t).toFixed(1) + ' ' + y(p.v).toFixed(1); }).join(' ');
    var area = line + ' L' + x(shown[shown.length - 1].t).toFixed(1) + ' ' + y(0) + ' L' + x(shown[0].t).toFixed(1) + ' ' + y(0) + ' Z';
    nodes.push(svg('path', { d: area, class: 'area-' + variant }), svg('path', { d: line, class: 'line-' + variant }));
  } else {
    nodes.push(svg('text', { x: W / 2 - 50, y: H / 2, class: 'axis' }, 'collecting data\u2026'));
  }
  el.replaceChildren.apply(el, nodes);
}

function niceCeil(v) {
  var p = Math.pow(10, Math.floor(Math.log10(v)));
  var steps = [1, 2, 2.5, 5, 10];
  for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
  return 10 * p;
}
`;
