/** /app.css: the page's looks (served as a file: the Content-Security-Policy allows no inline styles). */
export const APP_CSS = `:root {
  --fg: #1d2330; --muted: #5b6475; --line: #d9dee7; --bg: #f6f7fb; --card: #fff;
  --accent: #2457c5; --ok: #1d7a46; --bad: #b42318; --warn: #9a6700;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
header, main { max-width: 1040px; margin: 0 auto; padding: 0 20px; }
header { padding-top: 20px; }
h1 { margin: 0; font-size: 1.6rem; }
h2 { margin: 0 0 10px; font-size: 1.15rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin: 16px 0; }
label { display: block; font-weight: 600; margin-bottom: 4px; }
label.inline { display: inline; margin: 0 0 0 8px; }
.row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
.row p { margin: 0; }
input[type=password], input[type=search] { flex: 1 1 320px; min-width: 0; }
input[type=number] { width: 5em; }
input, button { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px; }
button { background: var(--accent); color: #fff; border-color: var(--accent); cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button.danger { background: #fff; color: var(--bad); border-color: var(--bad); }
button:disabled { opacity: .5; cursor: default; }
:focus-visible { outline: 3px solid #8fb0f5; outline-offset: 1px; }
.muted { color: var(--muted); }
.error { color: var(--bad); }
.error:empty { display: none; }
code { background: #eef1f6; padding: 1px 4px; border-radius: 4px; }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
td.progress { white-space: nowrap; }
progress { width: 140px; height: 12px; vertical-align: middle; margin-right: 6px; accent-color: var(--accent); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; background: #eef1f6; font-size: .85rem; }
.badge.done { background: #dcf3e5; color: var(--ok); }
.badge.deadletter { background: #fde4e1; color: var(--bad); }
.badge.working, .badge.queued { background: #e3ebfc; color: var(--accent); }
.badge.retryable, .badge.waiting { background: #fff3d1; color: var(--warn); }
details ol { margin: 6px 0 0; padding-left: 18px; font-size: .85rem; color: var(--muted); }
summary { cursor: pointer; color: var(--accent); }
ul.log { margin: 8px 0 0; padding-left: 18px; }
.cards { list-style: none; margin: 0; padding: 0; }
.cards > li { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; margin: 8px 0; }
.cards p { margin: 6px 0; }
.snippet { white-space: pre-wrap; color: var(--muted); }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
[hidden] { display: none !important; }
`;
