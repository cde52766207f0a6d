/**
 * Browser-side Logs panel of the dashboard: the master's captured lines, live, and the files of
 * the logs directory below them. Runs inside the page's IIFE after DASHBOARD_RENDER_JS and
 * before DASHBOARD_APP_JS (whose `get` and `notify` it calls; function declarations are hoisted).
 * Log text is hostile: it only ever enters the page as text nodes, through h().
 */
export const DASHBOARD_LOGS_JS = String.raw`
var LOG_INITIAL_LINES = 500;
var LOG_DOM_CAP = 2000;
/** Within this many px of the bottom counts as "at the bottom": new lines keep it scrolled there. */
var LOG_STICK_PX = 24;
var logUi = null;
var logFilter = { worker: '', stream: '' };
/** Live lines that arrived while the initial fetch ran; null when none runs. */
var logPending = null;
var logRequest = 0;
var logDropped = 0;
var logSkipped = 0;
var logWorkerKey = '';

function initLogs() {
  var byId = function (id) { return document.getElementById(id); };
  logUi = { lines: byId('log-lines'), worker: byId('log-worker'), stream: byId('log-stream'), dropped: byId('log-dropped'),
    filesBox: byId('log-files-box'), files: byId('log-files'), view: byId('log-view') };
  logUi.worker.addEventListener('change', function () { logFilter.worker = logUi.worker.value; loadRecentLogs(); });
  logUi.stream.addEventListener('change', function () { logFilter.stream = logUi.stream.value; loadRecentLogs(); });
  byId('logs-refresh').addEventListener('click', loadRecentLogs);
}

function logKey(r) { return r.time + ' ' + r.pid + ' ' + r.stream + ' ' + r.msg; }

function logMatches(r) {
  return (!logFilter.worker || r.worker === logFilter.worker) && (!logFilter.stream || r.stream === logFilter.stream);
}

function logLine(r) {
  return h('div', { className: 'line ' + (r.stream === 'err' ? 'err' : 'out'), 'data-testid': 'log-line', 'data-worker': r.worker, 'data-stream': r.stream }, [
    h('time', { text: fmtClock(r.time) }), h('span', { className: 'who', text: r.worker + ' ' + r.pid }), h('span', { className: 'msg', text: r.msg }),
  ]);
}

/** Appends the records the filters let through, newest at the bottom, keeping the last LOG_DOM_CAP. */
function appendLogs(records, forceBottom) {
  var el = logUi.lines;
  var atBottom = forceBottom || el.scrollHeight - el.scrollTop - el.clientHeight < LOG_STICK_PX;
  var fragment = document.createDocumentFragment();
  records.forEach(function (r) { if (r && typeof r.msg === 'string' && logMatches(r)) fragment.append(logLine(r)); });
  el.append(fragment);
  while (el.childElementCount > LOG_DOM_CAP) el.firstElementChild.remove();
  // A reader who scrolled up to read something keeps their place.
  if (atBottom) el.scrollTop = el.scrollHeight;
}

function showDropped() {
  var parts = [];
  if (logDropped > 0) parts.push('dropped ' + fmtInt(logDropped));
  if (logSkipped > 0) parts.push(fmtInt(logSkipped) + ' not shown (too fast)');
  logUi.dropped.textContent = parts.join(' \u00b7 ');
  logUi.dropped.title = logDropped > 0 ? 'lines the master could not write out in time since it started' : '';
  logUi.dropped.hidden = parts.length === 0;
}

/** A 'logs' event: a batch of captured lines. */
function onLogs(records) {
  if (!logUi || !Array.isArray(records)) return;
  if (logPending) logPending.push.apply(logPending, records);
  else appendLogs(records, false);
}

function onLogsSkipped(data) {
  if (!logUi) return;
  logSkipped += (data && data.skipped) || 0;
  showDropped();
}

/** The last LOG_INITIAL_LINES lines for the current filters (and the file list); live lines that race it are merged once. */
function loadRecentLogs() {
  if (!logUi) return;
  var request = ++logRequest;
  logPending = [];
  var query = 'api/logs?lines=' + LOG_INITIAL_LINES + (logFilter.worker ? '&worker=' + encodeURIComponent(logFilter.worker) : '') +
    (logFilter.stream ? '&stream=' + encodeURIComponent(logFilter.stream) : '');
  get(query).then(function (r) {
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.json();
  }).then(function (body) {
    if (request !== logRequest) return;
    var lines = Array.isArray(body.lines) ? body.lines : [];
    var seen = Object.create(null);
    lines.forEach(function (r) { seen[logKey(r)] = true; });
    var later = (logPending || []).filter(function (r) { return !seen[logKey(r)]; });
    logPending = null;
    logUi.lines.replaceChildren();
    appendLogs(lines.concat(later), true);
    logDropped = body.dropped || 0;
    showDropped();
    renderLogFiles(Array.isArray(body.files) ? body.files : []);
  }).catch(function (err) {
    if (request !== logRequest) return;
    var pending = logPending || [];
    logPending = null;
    logUi.lines.replaceChildren(h('div', { className: 'muted', text: 'cannot read logs: ' + err.message }));
    appendLogs(pending, true);
  });
}

/** The worker filter's choices: w<instance> of every worker in the status, then master; and the status' dropped count. */
function updateLogWorkers(workers, counts) {
  if (!logUi) return;
  if (counts && isNum(counts.dropped) && counts.dropped !== logDropped) {
    logDropped = counts.dropped;
    showDropped();
  }
  var labels = [];
  (workers || []).forEach(function (w) {
    if (isNum(w.instance) && labels.indexOf('w' + w.instance) === -1) labels.push('w' + w.instance);
  });
  labels.sort(function (a, b) { return Number(a.slice(1)) - Number(b.slice(1)); });
  labels.push('master');
  if (logFilter.worker && labels.indexOf(logFilter.worker) === -1) labels.push(logFilter.worker);
  var key = labels.join(',');
  if (key === logWorkerKey) return;
  logWorkerKey = key;
  logUi.worker.replaceChildren.apply(logUi.worker, [h('option', { value: '', text: 'All workers' })].concat(labels.map(function (label) {
    return h('option', { value: label, text: label });
  })));
  logUi.worker.value = logFilter.worker;
}

function renderLogFiles(files) {
  logUi.filesBox.hidden = files.length === 0;
  var active = logUi.files.querySelector('button.active');
  var activeName = active ? active.getAttribute('data-name') : null;
  logUi.files.replaceChildren.apply(logUi.files, files.map(function (f) {
    return h('li', {}, [h('button', { 'data-testid': 'log-file', 'data-name': f.name, title: 'modified ' + f.mtime, className: f.name === activeName ? 'active' : '',
      onclick: function (ev) { showLogFile(f.name, ev.currentTarget); } }, [h('span', { text: f.name }), h('span', { className: 'size', text: fmtSize(f.size) })])]);
  }));
}

function showLogFile(name, button) {
  Array.prototype.forEach.call(logUi.files.querySelectorAll('button'), function (b) { b.classList.toggle('active', b === button); });
  logUi.view.textContent = 'loading ' + name + '\u2026';
  get('api/logs/' + encodeURIComponent(name) + '?lines=500')
    .then(function (r) { return r.ok ? r.text() : 'cannot read ' + name + ' (HTTP ' + r.status + ')'; })
    .then(function (text) { logUi.view.textContent = text || '(empty)'; logUi.view.scrollTop = logUi.view.scrollHeight; })
    .catch(function (err) { logUi.view.textContent = 'cannot read ' + name + ': ' + err.message; });
}
`;
