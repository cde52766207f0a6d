/**
 * The dashboard's stylesheet, inlined into `GET /` (and allowed by hash in its CSP), so the
 * monitor needs no asset routes, CDN or build step. Light and dark follow the OS setting.
 */
export const DASHBOARD_CSS = String.raw`
:root {
  --bg: #f6f7f9; --panel: #ffffff; --text: #1d2330; --muted: #667085; --line: #e3e6eb;
  --accent: #2563eb; --ok: #15803d; --ok-bg: #dcfce7; --warn: #b45309; --warn-bg: #fef3c7;
  --bad: #b91c1c; --bad-bg: #fee2e2; --chart-a: #2563eb; --chart-b: #9333ea;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1115; --panel: #171a21; --text: #e6e8ee; --muted: #9aa3b2; --line: #2a2f3a;
    --accent: #60a5fa; --ok: #4ade80; --ok-bg: #12321f; --warn: #fbbf24; --warn-bg: #3a2d0c;
    --bad: #f87171; --bad-bg: #3b1518; --chart-a: #60a5fa; --chart-b: #c084fc;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
header.top {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px;
  padding: 12px 20px; background: var(--panel); border-bottom: 1px solid var(--line);
  position: sticky; top: 0; z-index: 1;
}
header.top h1 { font-size: 18px; margin: 0; letter-spacing: .02em; }
#master-line { color: var(--muted); flex: 1 1 auto; }
.actions { display: flex; align-items: center; gap: 8px; }
main { padding: 16px 20px 40px; display: grid; gap: 16px; max-width: 1400px; margin: 0 auto; }
section.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 0; }
section.panel h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); margin: 0 0 10px; }
section.panel h2 button { text-transform: none; letter-spacing: 0; font-weight: 400; margin-left: 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 12px; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 22px; font-variant-numeric: tabular-nums; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(320px, 100%), 1fr)); gap: 16px; }
.charts svg { width: 100%; height: 150px; display: block; }
.charts .now { float: right; color: var(--text); font-variant-numeric: tabular-nums; text-transform: none; letter-spacing: 0; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { fill: var(--muted); font-size: 11px; }
svg .line-a { fill: none; stroke: var(--chart-a); stroke-width: 2; }
svg .area-a { fill: var(--chart-a); opacity: .12; }
svg .line-b { fill: none; stroke: var(--chart-b); stroke-width: 2; }
svg .area-b { fill: var(--chart-b); opacity: .12; }
.split { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(420px, 100%), 1fr)); gap: 16px; }
.table-wrap { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: right; padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
th:first-child, td:first-child, td.left, th.left { text-align: left; }
table.workers th:nth-child(3), table.workers td:nth-child(3) { text-align: left; }
tbody tr:hover { background: color-mix(in srgb, var(--accent) 6%, transparent); }
.empty { color: var(--muted); text-align: center; padding: 16px; }
.pill { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; background: var(--line); }
.pill.ok { color: var(--ok); background: var(--ok-bg); }
.pill.warn { color: var(--warn); background: var(--warn-bg); }
.pill.bad { color: var(--bad); background: var(--bad-bg); }
button {
  font: inherit; padding: 4px 12px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--line); background: var(--panel); color: var(--text);
}
button:hover { border-color: var(--accent); }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.small { padding: 1px 8px; font-size: 12px; }
button:disabled { opacity: .5; cursor: default; }
#notice { margin: 0 20px; padding: 8px 12px; border-radius: 6px; background: var(--ok-bg); color: var(--ok); }
#notice.error { background: var(--bad-bg); color: var(--bad); }
#token-form { margin: 8px 20px 0; display: flex; gap: 8px; align-items: center; }
#token-form input { font: inherit; padding: 3px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); color: var(--text); }
.events { list-style: none; margin: 0; padding: 0; max-height: 320px; overflow-y: auto; }
.events li { padding: 4px 0; border-bottom: 1px solid var(--line); display: flex; gap: 10px; }
.events time { color: var(--muted); font-variant-numeric: tabular-nums; flex: none; }
.events .type { font-weight: 600; min-width: 72px; }
.logs { display: grid; grid-template-columns: minmax(140px, 220px) 1fr; gap: 12px; }
.logs ul { list-style: none; margin: 0; padding: 0; max-height: 320px; overflow-y: auto; }
.logs li button { width: 100%; text-align: left; border: none; padding: 4px 6px; display: flex; justify-content: space-between; gap: 8px; }
.logs li button.active { background: color-mix(in srgb, var(--accent) 14%, transparent); }
.logs li .size { color: var(--muted); font-size: 12px; }
.logs pre {
  margin: 0; min-height: 120px; max-height: 320px; overflow: auto; padding: 8px 10px;
  background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; white-space: pre-wrap; word-break: break-all;
}
section.panel h2 select { font: inherit; font-size: 12px; text-transform: none; letter-spacing: 0; margin-left: 8px; padding: 1px 4px;
  border: 1px solid var(--line); border-radius: 6px; background: var(--panel); color: var(--text); }
section.panel h2 .pill { text-transform: none; letter-spacing: 0; margin-left: 8px; }
section.panel h3 { font-size: 12px; color: var(--muted); margin: 12px 0 6px; font-weight: 600; }
.log-lines {
  height: 320px; overflow: auto; padding: 6px 10px; background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
}
.log-lines:empty::before { content: 'no lines captured yet'; color: var(--muted); }
.log-lines .line { white-space: pre-wrap; word-break: break-all; }
.log-lines .line time, .log-lines .line .who { color: var(--muted); margin-right: 8px; }
.log-lines .line.err { color: var(--bad); background: color-mix(in srgb, var(--bad) 7%, transparent); }
.muted { color: var(--muted); }
.tag { font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 4px; margin-left: 6px; }
`;
