#!/usr/bin/env bash
# report_html.sh - `thaw report --html`: one self-contained file for a run and
# for a sweep selector. Python's html.parser reads it back: every element
# that is opened is closed in order, ids are unique, each chart is an
# inlined <svg> with a caption, the summary, per-model and anomaly tables
# are there, and nothing refers to another file or a network (no src=, no
# link, no http(s) URL but the SVG namespaces; an image only as a data: URI).
set -u
THAW=${THAW:-}
if [ -z "$THAW" ] || [ ! -x "$THAW" ]; then
    echo "skipped: THAW (the thaw binary) not set"
    exit 77
fi
command -v gnuplot > /dev/null || { echo "skipped: no gnuplot"; exit 77; }
command -v python3 > /dev/null || { echo "skipped: no python3"; exit 77; }
tmp=$(mktemp -d /tmp/thaw-e2e-reporthtml.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
db=$tmp/t.db

"$THAW" sim scenarios/chained-cold-start.yaml --db "$db" --quiet > /dev/null 2>&1 || fail "sim"
out=$("$THAW" report --db "$db" 1 --html "$tmp/r1.html") || fail "report --html"
[ "$out" = "$tmp/r1.html" ] || fail "printed '$out', not the path"
[ ! -e "$tmp/r1.html.tmp" ] || fail "the temporary file was left behind"
"$THAW" sweep scenarios/chained-cold-start.yaml --db "$db" --sweep-id sw --jobs 2 --quiet --record loads \
    --seeds 1-2 --set policy.queue=fifo,priority > /dev/null 2>&1 || fail "sweep"
"$THAW" report --db "$db" sweep=sw --html "$tmp/sw.html" > /dev/null || fail "report sweep=sw"
"$THAW" report --db "$db" 1 --html "$tmp/x.html" --format csv > /dev/null 2>&1 \
    && fail "--html with --format accepted"

# check FILE MIN_SVGS RUNS: parsed, balanced, self-contained
check() {
    python3 - "$@" << 'PY' || exit 1
import html.parser, re, sys
path, min_svgs, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
text = open(path, encoding="utf-8").read()
VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr"}
class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.count, self.ids, self.bad = [], {}, [], []
    def handle_starttag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1
        for k, v in attrs:
            if k == "id": self.ids.append(v)
            # an image inlined as a data: URI (the vram heatmap) is in the file
            if k == "src" or (k in ("href", "xlink:href") and v and not v.startswith(("#", "data:"))):
                self.bad.append((tag, k, v))
        if tag == "link": self.bad.append((tag, "link", ""))
        if tag not in VOID: self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1
        for k, v in attrs:
            if k == "id": self.ids.append(v)
            if k in ("href", "xlink:href") and v and not v.startswith(("#", "data:")):
                self.bad.append((tag, k, v))
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            raise SystemExit(f"{path}: </{tag}> closes <{self.stack[-1] if self.stack else None}>")
        self.stack.pop()
p = P(); p.feed(text); p.close()
def need(cond, what):
    if not cond: raise SystemExit(f"{path}: {what}")
need(text.startswith("<!DOCTYPE html>"), "no doctype")
need(not p.stack, f"unclosed: {p.stack}")
need(not p.bad, f"refers outside the file: {p.bad[:3]}")
urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
need(urls <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}, f"urls: {urls}")
dup = {i for i in p.ids if p.ids.count(i) > 1}
need(not dup, f"ids used twice: {sorted(dup)[:5]}")
need(p.count.get("svg", 0) >= min_svgs, f"{p.count.get('svg', 0)} svg, want >= {min_svgs}")
need(p.count.get("svg", 0) == p.count.get("figcaption", 0), "a chart without a caption")
need(p.count.get("h2", 0) == runs + 1, f"{p.count.get('h2', 0)} h2, want {runs + 1}")
need('id="summary"' in text and "cold_start_p99_s" in text, "no summary table")
need("<h3>Per model</h3>" in text and "<h3>Anomalies</h3>" in text, "no per-model or anomalies")
PY
}
# one run: cdf + cluster + timeline + vram
check "$tmp/r1.html" 4 1
grep -q 'class="timeline"' "$tmp/r1.html" || fail "no timeline figure"
grep -q 'class="cluster"' "$tmp/r1.html" || fail "no cluster figure"
# the sweep (recorded with loads: a sweep records summary rows by default,
# which have no timeline, vram or cluster to draw): 4 runs, cdf + sweep + 3 per run
check "$tmp/sw.html" 14 4
grep -q 'class="sweep"' "$tmp/sw.html" || fail "no sweep chart for sweep=sw"
echo "ok"
