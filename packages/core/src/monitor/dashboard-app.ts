/**
 * Browser-side behaviour of the dashboard: the live event stream, charts history, control
 * buttons and dependency list. Runs after DASHBOARD_RENDER_JS and DASHBOARD_LOGS_JS in the same IIFE.
 * URLs are relative ('api/…'), so the page also works behind a reverse proxy under a prefix.
 * With a monToken the page is opened as '/?token=<monToken>'; every request it makes afterwards
 * carries the token in an Authorization header, never in a URL (so the event stream is read with
 * fetch: EventSource cannot send headers).
 */
export const DASHBOARD_APP_JS = String.raw`
var HISTORY_MS = 5 * 60 * 1000;
var RATE_WINDOW_MS = 10 * 1000;
var TOKEN_KEY = 'cluster2-monitor-token';
var $ = function (id) { return document.getElementById(id); };
var ui = {
  conn: $('conn'), master: $('master-line'), ecv: $('ecv-state'), totals: $('totals'), workers: $('workers'),
  events: $('events'), rateChart: $('chart-rate'), memChart: $('chart-mem'), rateNow: $('rate-now'), memNow: $('mem-now'),
  notice: $('notice'), tokenForm: $('token-form'), tokenInput: $('token-input'), deps: $('deps'),
};
var RETRY_MS = 3000;
var token = new URLSearchParams(location.search).get('token') || sessionStorage.getItem(TOKEN_KEY) || '';
var events = [];
var samples = [];
var counts = [];
var lastSample = null;
var noticeTimer = 0;

function notify(text, isError) {
  ui.notice.textContent = text;
  ui.notice.className = isError ? 'error' : '';
  ui.notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(function () { ui.notice.hidden = true; }, 5000);
}

function setConnection(text, kind) { ui.conn.textContent = text; ui.conn.className = 'pill ' + kind; }

/**
 * Requests/s from the growth of the cluster's request counter over the last RATE_WINDOW_MS,
 * timed by this page's clock. Each worker's count reaches the master on its own heartbeat, so
 * the total grows in uneven steps: a rate between two consecutive snapshots zigzags (and the
 * master's uptime, in whole seconds, is too coarse to time them).
 */
function sample(s) {
  var now = Date.now(), rate = null;
  if (lastSample && s.master.pid !== lastSample.pid) counts = [];
  counts.push({ t: now, requests: s.totals.requests });
  while (counts.length > 2 && counts[1].t <= now - RATE_WINDOW_MS) counts.shift();
  var first = counts[0];
  if (now - first.t >= 1000 && s.totals.requests >= first.requests) rate = ((s.totals.requests - first.requests) * 1000) / (now - first.t);
  else if (lastSample && lastSample.pid === s.master.pid) rate = lastSample.rate;
  // Snapshots can arrive in bursts (a lifecycle event next to a heartbeat): one chart point per 500 ms.
  var point = { t: now, rate: rate, rss: s.totals.rss / MIB };
  if (!lastSample || now - lastSample.t >= 500 || lastSample.pid !== s.master.pid || samples.length === 0) {
    samples.push(point);
    lastSample = { pid: s.master.pid, t: now, rate: rate };
  } else {
    samples[samples.length - 1] = { t: samples[samples.length - 1].t, rate: rate, rss: point.rss };
    lastSample.rate = rate;
  }
  samples = samples.filter(function (p) { return p.t >= now - HISTORY_MS; });
  return rate;
}

function onStatus(s) {
  var rate = sample(s);
  ui.master.textContent = 'master ' + s.master.pid + ' \u00b7 ' + s.master.state + ' \u00b7 up ' + fmtDuration(s.master.uptime) +
    ' \u00b7 node ' + s.master.node + ' \u00b7 ' + (s.master.host || '') + ':' + (s.master.ports || []).join(',');
  ui.ecv.textContent = s.ecv.state;
  ui.ecv.className = 'pill ' + (s.ecv.state === 'enabled' ? 'ok' : 'warn');
  ui.ecv.title = 'since ' + s.ecv.since;
  renderTotals(ui.totals, s, rate);
  renderWorkers(ui.workers, s.workers, restartWorker);
  updateLogWorkers(s.workers, s.logs);
  events = (s.events || []).slice();
  renderEvents(ui.events, events);
  drawCharts(rate, s.totals.rss);
}

function drawCharts(rate, rss) {
  drawChart(ui.rateChart, samples.map(function (p) { return { t: p.t, v: p.rate }; }), HISTORY_MS, 'a', 'req/s');
  drawChart(ui.memChart, samples.map(function (p) { return { t: p.t, v: p.rss }; }), HISTORY_MS, 'b', 'MiB');
  ui.rateNow.textContent = isNum(rate) ? rate.toFixed(1) + ' req/s' : '';
  ui.memNow.textContent = fmtMiB(rss) + ' MiB';
}

function onLifecycle(e) {
  var last = events[events.length - 1];
  if (last && last.time === e.time && last.type === e.type && last.pid === e.pid) return;
  events.push(e);
  if (events.length > 200) events = events.slice(-200);
  renderEvents(ui.events, events);
}

function authHeaders() { return token ? { authorization: 'Bearer ' + token } : {}; }

function get(path) { return fetch(path, { cache: 'no-store', headers: authHeaders() }); }

function refreshStatus() {
  return get('api/status').then(function (r) { return r.ok ? r.json() : null; })
    .then(function (s) { if (s) onStatus(s); }).catch(function () {});
}

/** Follows GET api/events; reconnects RETRY_MS after the stream fails or ends. */
function connect() {
  get('api/events').then(function (r) {
    if (r.status === 401 || r.status === 403) ui.tokenForm.hidden = false;
    if (!r.ok || !r.body) throw new Error('HTTP ' + r.status);
    setConnection('live', 'ok');
    // Lines printed while the stream was down are fetched, not lost: the panel starts over.
    loadRecentLogs();
    var reader = r.body.getReader(), decoder = new TextDecoder(), buffer = '';
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) throw new Error('stream ended');
        buffer += decoder.decode(chunk.value, { stream: true });
        var end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          onMessage(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        return pump();
      });
    }
    return pump();
  }).catch(function () {
    setConnection('reconnecting\u2026', 'warn');
    setTimeout(connect, RETRY_MS);
  });
}

/** One event-stream message ('event:' and 'data:' lines; comments are keep-alives). */
function onMessage(block) {
  var type = 'message', data = [];
  block.split('\n').forEach(function (line) {
    if (line === '' || line.charAt(0) === ':') return;
    var colon = line.indexOf(':');
    var field = colon === -1 ? line : line.slice(0, colon), value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charAt(0) === ' ') value = value.slice(1);
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
  });
  if (type === 'status') onStatus(JSON.parse(data.join('\n')));
  else if (type === 'lifecycle') onLifecycle(JSON.parse(data.join('\n')));
  else if (type === 'logs') onLogs(JSON.parse(data.join('\n')));
  else if (type === 'logs-skipped') onLogsSkipped(JSON.parse(data.join('\n')));
}

/** POSTs a control action; on 401/403 asks for the monitor token (kept for this tab only). */
function control(path, label) {
  return fetch(path, { method: 'POST', headers: authHeaders() }).then(function (r) {
    if (r.ok) {
      notify(label + (r.status === 202 ? ' started' : ' done'), false);
      return refreshStatus();
    }
    return r.json().catch(function () { return null; }).then(function (body) {
      var message = body && body.error ? body.error.message : 'HTTP ' + r.status;
      if (r.status === 401 || r.status === 403) ui.tokenForm.hidden = false;
      notify(label + ' failed: ' + message, true);
    });
  }).catch(function (err) { notify(label + ' failed: ' + err.message, true); });
}

// No confirm() dialogs: restart and reload start the replacement before the old worker drains,
// so a stray click costs nothing, and dialogs would stall automated browsers.
function restartWorker(pid) {
  control('api/workers/' + encodeURIComponent(pid) + '/restart', 'restart of worker ' + pid);
}

function loadDeps() {
  get('api/deps').then(function (r) { return r.json(); }).then(function (report) {
    var deps = report.dependencies || [];
    if (deps.length === 0) { ui.deps.replaceChildren(h('tr', {}, [h('td', { className: 'empty', colspan: 3, text: 'no dependencies found' })])); return; }
    ui.deps.replaceChildren.apply(ui.deps, deps.map(function (d) {
      var installed = d.installed === null ? h('span', { className: 'pill bad', text: 'not installed' }) : d.installed;
      return h('tr', { 'data-testid': 'dep-row' }, [
        h('td', {}, [d.name, d.dev ? h('span', { className: 'tag', text: 'dev' }) : '']), h('td', { className: 'left', text: d.wanted }), h('td', { className: 'left' }, [installed]),
      ]);
    }));
  }).catch(function () {});
}

$('ecv-enable').addEventListener('click', function () { control('api/ecv/enable', 'ECV enable'); });
$('ecv-disable').addEventListener('click', function () { control('api/ecv/disable', 'ECV disable'); });
$('reload').addEventListener('click', function () { control('api/reload', 'reload'); });
ui.tokenForm.addEventListener('submit', function (ev) {
  ev.preventDefault();
  token = ui.tokenInput.value.trim();
  sessionStorage.setItem(TOKEN_KEY, token);
  ui.tokenForm.hidden = true;
  notify('token saved for this tab; try the action again', false);
  loadRecentLogs();
  loadDeps();
});
// Keep the charts' time axis moving between status events.
setInterval(function () { if (lastSample) drawCharts(lastSample.rate, samples.length ? samples[samples.length - 1].rss * MIB : null); }, 5000);
initLogs();
connect();
loadDeps();
`;
