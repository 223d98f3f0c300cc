#!/usr/bin/env bash
# Checks the demo report in a real browser: Debian's Chromium, headless.
#
#   scripts/check-report.sh [REPORT.html [SHOT.png]]
#       (defaults: demo-report.html, written by `make demo`, and demo-report.png)
#
# Not part of `make test` (it needs the report of a demo run and a browser).
# It loads a copy of the report with a small script appended that inspects the
# page as Chromium laid it out, reads the findings back with --dump-dom, and
# fails (exit 1) on an empty or broken page:
#   - no or few charts, a chart with no data or no drawn shapes, a chart not
#     as wide as the page, a line chart whose points sit on one flat line;
#   - NaN, undefined or Infinity in the text or in an SVG attribute, a negative
#     width or height, an empty polyline;
#   - a section without content, a table without rows (and no note saying so)
#     or wider than its box, a chart label outside its chart, no "act on these
#     first" card;
#   - a page wider than the window (horizontal scrolling);
#   - an error Chromium logs while loading it (console errors, SVG attribute errors).
# Then it screenshots the report as it is, at 1280 px wide and the page's full
# height, into SHOT.png: look at it.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPORT=$(realpath "${1:-$REPO_ROOT/demo-report.html}")
SHOT=$(realpath -m "${2:-${REPORT%.html}.png}")
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
WIDTH=1280

[ -x "$CHROMIUM" ] || { echo "check-report: $CHROMIUM is missing (Debian package chromium)" >&2; exit 1; }
[ -s "$REPORT" ] || { echo "check-report: $REPORT is missing or empty (run make demo)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/inventory_erp-check-report.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# chromium: headless, a profile of its own, no sandbox when run as root (the
# sandbox refuses to start as root), logging to stderr for the console errors
chromium() {
    local sandbox=()
    [ "$(id -u)" -eq 0 ] && sandbox=(--no-sandbox)
    timeout 120 "$CHROMIUM" --headless "${sandbox[@]}" --disable-gpu --hide-scrollbars --no-first-run \
        --user-data-dir="$WORK/profile" --enable-logging=stderr --v=0 "$@"
}

# The probe: run in the laid-out page, writes its findings as JSON into <pre id="check-report">.
cat >"$WORK/probe.js" <<'JS'
(function () {
  const problems = [];
  const bad = /\b(NaN|undefined|Infinity)\b/;
  const text = document.body ? document.body.innerText : '';
  if (text.trim().length < 500) problems.push('the page has almost no text (' + text.trim().length + ' characters)');
  const m = text.match(bad);
  if (m) problems.push('the text says "' + m[0] + '": ' + text.substr(Math.max(0, m.index - 60), 120).replace(/\s+/g, ' '));
  const main = document.querySelector('main') || document.body;
  const mainWidth = main.clientWidth - parseFloat(getComputedStyle(main).paddingLeft) - parseFloat(getComputedStyle(main).paddingRight);
  const charts = Array.from(document.querySelectorAll('figure.chart'));
  let drawn = 0;
  charts.forEach(function (f, i) {
    const title = (f.querySelector('h3') || {}).textContent || ('chart ' + (i + 1));
    const svg = f.querySelector('svg');
    if (f.querySelector('.nodata') || !svg) { problems.push('chart "' + title + '" has no data'); return; }
    const shapes = svg.querySelectorAll('rect,polyline,circle,line,path');
    if (shapes.length < 5) problems.push('chart "' + title + '" draws only ' + shapes.length + ' shapes');
    const w = svg.getBoundingClientRect().width;
    if (w < 0.85 * mainWidth) problems.push('chart "' + title + '" is ' + Math.round(w) + ' px wide, the page ' + Math.round(mainWidth) + ' px');
    const bbox = svg.getBBox();
    if (bbox.width < 10 || bbox.height < 10) problems.push('chart "' + title + '" renders nothing visible');
    // a line chart whose points use less than a fifth of the plot's height is a flat line
    const vb = svg.viewBox.baseVal;
    const series = {};
    svg.querySelectorAll('circle.p').forEach(function (c) {
      const k = c.getAttribute('class'); (series[k] = series[k] || []).push(c.cy.baseVal.value);
    });
    Object.keys(series).forEach(function (k) {
      const ys = series[k];
      if (ys.length > 2 && vb && vb.height > 0 && (Math.max.apply(null, ys) - Math.min.apply(null, ys)) < 0.2 * (vb.height - 80))
        problems.push('chart "' + title + '": series ' + k + ' is a flat line (axis not scaled to its data?)');
    });
    drawn++;
  });
  if (drawn < 5) problems.push('only ' + drawn + ' charts drawn (expected at least 5)');
  document.querySelectorAll('svg *').forEach(function (el) {
    Array.from(el.attributes).forEach(function (a) {
      if (bad.test(a.value)) problems.push('<' + el.tagName + '> ' + a.name + '="' + a.value.substr(0, 40) + '"');
      if ((a.name === 'width' || a.name === 'height' || a.name === 'r') && parseFloat(a.value) < 0)
        problems.push('<' + el.tagName + '> negative ' + a.name + '="' + a.value + '"');
    });
    if (el.tagName === 'polyline' && !(el.getAttribute('points') || '').trim()) problems.push('an empty polyline');
  });
  const sections = Array.from(document.querySelectorAll('section'));
  if (sections.length < 4) problems.push('only ' + sections.length + ' sections');
  sections.forEach(function (s) {
    const h = s.querySelector('h2');
    const rest = s.innerText.length - (h ? h.innerText.length : 0);
    if (!h) problems.push('a section without a heading');
    if (rest < 20) problems.push('section "' + (h ? h.innerText : s.id) + '" is empty');
  });
  document.querySelectorAll('.tbl').forEach(function (t) {
    const name = (t.querySelector('h3') || {}).textContent;
    if (!t.querySelector('table tr + tr') && !t.querySelector('.none')) problems.push('table "' + name + '" has no rows');
    if (t.scrollWidth > t.clientWidth + 2) problems.push('table "' + name + '" is cut off (' + (t.scrollWidth - t.clientWidth) + ' px wider than its box)');
  });
  // a label drawn outside its chart's box is cut off or overlaps the page
  charts.forEach(function (f) {
    const box = f.getBoundingClientRect();
    f.querySelectorAll('svg text').forEach(function (tx) {
      const b = tx.getBoundingClientRect();
      if (b.width > 0 && (b.left < box.left - 1 || b.right > box.right + 1))
        problems.push('label "' + tx.textContent.substr(0, 40) + '" sticks out of chart "' + (f.querySelector('h3') || {}).textContent + '"');
    });
  });
  const cards = document.querySelectorAll('#act .card').length;
  if (!document.querySelector('#act')) problems.push('no "act on these first" section');
  const overflow = document.documentElement.scrollWidth - window.innerWidth;
  if (overflow > 2) problems.push('the page is ' + overflow + ' px wider than the window');
  const pre = document.createElement('pre');
  pre.id = 'check-report';
  pre.textContent = JSON.stringify({
    problems: problems, charts: drawn, sections: sections.length, cards: cards,
    crit: document.querySelectorAll('#act .card.crit').length, warn: document.querySelectorAll('#act .card.warn').length,
    tables: document.querySelectorAll('.tbl table').length, svg_elements: document.querySelectorAll('svg *').length,
    height: Math.ceil(document.documentElement.scrollHeight), title: document.title
  });
  document.body.appendChild(pre);
})();
JS
{
    sed 's|</body></html>$||' "$REPORT"
    printf '<script>\n'; cat "$WORK/probe.js"; printf '</script></body></html>\n'
} >"$WORK/probe.html"

chromium --window-size=$WIDTH,900 --virtual-time-budget=5000 --dump-dom "file://$WORK/probe.html" \
    >"$WORK/dom.html" 2>"$WORK/probe.log" || true
FINDINGS=$(/usr/bin/python3 - "$WORK/dom.html" "$WORK/probe.log" <<'PY'
import html, json, re, sys
dom = open(sys.argv[1], encoding="utf-8", errors="replace").read()
log = open(sys.argv[2], encoding="utf-8", errors="replace").read()
m = re.search(r'<pre id="check-report">(.*?)</pre>', dom, re.S)
if not m:
    print(json.dumps({"problems": ["the page did not load or its probe did not run (no findings in --dump-dom)"], "height": 2000}))
    sys.exit(0)
r = json.loads(html.unescape(m.group(1)))
# errors Chromium logged while loading the page: console errors, SVG attribute errors
for line in log.splitlines():
    if ("CONSOLE" in line and ("Error" in line or "error" in line)) or re.search(r'Error: <\w+> attribute', line):
        r["problems"].append("chromium logged: " + line.strip()[:200])
print(json.dumps(r))
PY
)
HEIGHT=$(printf '%s' "$FINDINGS" | /usr/bin/python3 -c 'import json,sys; print(min(max(int(json.load(sys.stdin)["height"]), 600), 16000))')

chromium --window-size=$WIDTH,"$HEIGHT" --virtual-time-budget=5000 --screenshot="$SHOT" "file://$REPORT" \
    >"$WORK/shot.log" 2>&1 || true
[ -s "$SHOT" ] || { echo "check-report: Chromium wrote no screenshot"; tail -5 "$WORK/shot.log"; exit 1; }

printf '%s' "$FINDINGS" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)
print("check-report: %s: %d charts, %d sections, %d tables, %d act-first cards (%d critical, %d warnings), %d SVG elements, page %d px high"
      % (r.get("title", "?"), r.get("charts", 0), r.get("sections", 0), r.get("tables", 0), r.get("cards", 0),
         r.get("crit", 0), r.get("warn", 0), r.get("svg_elements", 0), r.get("height", 0)))
for p in r["problems"]:
    print("check-report: PROBLEM: " + p)
print("check-report: screenshot " + sys.argv[1])
if r["problems"]:
    print("check-report: FAILED (%d problems)" % len(r["problems"]))
    sys.exit(1)
print("check-report: OK")
' "$SHOT"
