/* report/index.html: the run in one self-contained page (no network, no external scripts). The
 * cells are data (JSON in the page); a small script draws the matrix, its filters and a cell's
 * details: reason, log, sequence chart (inline SVG, from the cell's directory) and links to its
 * pcaps. The deviations and lane agreement sections are summary.md's own text. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "report.h"
#include "report_internal.h"
#include "wirefmt.h"

/* A kept cell's log or chart embedded beyond this is cut (the file itself is linked). */
#define EMBED_MAX (256 * 1024)

static const char page_style[] =
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#111827}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}"
    "#filters{margin:1em 0;display:flex;gap:1em;flex-wrap:wrap;align-items:center}"
    "#filters label{font-size:.9em}"
    "table.matrix{border-collapse:collapse;font-size:.85em}"
    "table.matrix th,table.matrix td{border:1px solid #e5e7eb;padding:3px 5px;vertical-align:top}"
    "table.matrix th{background:#f9fafb;text-align:left;position:sticky;top:0}"
    "td.row{white-space:nowrap;font-family:monospace}"
    "button.cell{width:14px;height:14px;margin:1px;padding:0;border:1px solid #9ca3af;"
    "cursor:pointer;border-radius:2px}"
    ".st-pass{background:#22c55e}.st-fail{background:#ef4444}.st-error{background:#7f1d1d}"
    ".st-skip{background:#e5e7eb}.st-xfail{background:#fbbf24}.st-xpass{background:#a855f7}"
    "button.cell.selected{outline:3px solid #2563eb}"
    "#details{border:1px solid #d1d5db;padding:1em;margin:1em 0;background:#f9fafb}"
    "#details pre{max-height:24em;overflow:auto;background:#fff;border:1px solid #e5e7eb;"
    "padding:.5em;font-size:.8em}"
    "#chart{overflow:auto;max-height:40em;background:#fff;border:1px solid #e5e7eb}"
    ".legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;"
    "vertical-align:middle;border:1px solid #9ca3af}"
    "pre.section{white-space:pre-wrap;font-size:.8em;background:#f9fafb;padding:.8em}";

static const char page_script[] =
    "\"use strict\";\n"
    "const cells = JSON.parse(document.getElementById('coapmx-cells').textContent);\n"
    "const axes = {iut: 'transport', row: 'scenario', kind: 'kind', lane: 'lane', status: "
    "'status'};\n"
    "function distinct(key) {\n"
    "  const seen = [];\n"
    "  for (const c of cells) if (!seen.includes(c[key])) seen.push(c[key]);\n"
    "  return seen;\n"
    "}\n"
    "function text(tag, content, cls) {\n"
    "  const e = document.createElement(tag);\n"
    "  if (content !== undefined) e.textContent = content;\n"
    "  if (cls) e.className = cls;\n"
    "  return e;\n"
    "}\n"
    "for (const [name, key] of Object.entries(axes)) {\n"
    "  const select = document.getElementById('f-' + name);\n"
    "  select.append(new Option('all', ''));\n"
    "  for (const v of distinct(key).sort()) select.append(new Option(v, v));\n"
    "  select.addEventListener('change', render);\n"
    "}\n"
    "function chosen() {\n"
    "  const want = {};\n"
    "  for (const [name, key] of Object.entries(axes))\n"
    "    want[key] = document.getElementById('f-' + name).value;\n"
    "  return cells.filter(c => Object.entries(want).every(([k, v]) => v === '' || c[k] === "
    "v));\n"
    "}\n"
    "function render() {\n"
    "  const shown = chosen();\n"
    "  const iuts = distinct('transport').filter(t => shown.some(c => c.transport === t));\n"
    "  const rows = distinct('scenario').filter(s => shown.some(c => c.scenario === s));\n"
    "  const table = document.getElementById('matrix');\n"
    "  table.replaceChildren();\n"
    "  const head = table.insertRow();\n"
    "  head.append(text('th', 'row'));\n"
    "  for (const t of iuts) head.append(text('th', t));\n"
    "  for (const s of rows) {\n"
    "    const tr = table.insertRow();\n"
    "    const first = shown.find(c => c.scenario === s);\n"
    "    const th = text('td', s, 'row');\n"
    "    th.title = first.title;\n"
    "    tr.append(th);\n"
    "    for (const t of iuts) {\n"
    "      const td = tr.insertCell();\n"
    "      for (const c of shown) {\n"
    "        if (c.scenario !== s || c.transport !== t) continue;\n"
    "        const b = text('button', undefined, 'cell st-' + c.status);\n"
    "        b.title = c.name + ': ' + c.status;\n"
    "        b.dataset.index = cells.indexOf(c);\n"
    "        b.dataset.status = c.status;\n"
    "        b.addEventListener('click', () => show(c, b));\n"
    "        td.append(b);\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "  document.getElementById('shown').textContent = shown.length + ' of ' + cells.length + "
    "' cells';\n"
    "}\n"
    "function show(c, button) {\n"
    "  for (const b of document.querySelectorAll('button.cell.selected')) "
    "b.classList.remove('selected');\n"
    "  button.classList.add('selected');\n"
    "  const d = document.getElementById('details');\n"
    "  d.hidden = false;\n"
    "  document.getElementById('d-name').textContent = c.name;\n"
    "  document.getElementById('d-status').textContent = c.status + ' in ' + c.seconds.toFixed(3) "
    "+ ' s';\n"
    "  document.getElementById('d-status').className = 'st-' + c.status;\n"
    "  document.getElementById('d-reason').textContent = c.reason || '(no reason: it passed)';\n"
    "  const links = document.getElementById('d-links');\n"
    "  links.replaceChildren();\n"
    "  for (const [label, href] of [['peer pcap', c.pcap], ['local pcap', c.local_pcap], "
    "['chart', c.chart_file], ['output', c.output]]) {\n"
    "    if (!href) continue;\n"
    "    const a = text('a', label);\n"
    "    a.href = href;\n"
    "    links.append(a, ' ');\n"
    "  }\n"
    "  if (!links.childElementCount) links.textContent = 'nothing kept for this cell (a passing "
    "cell keeps its files with --keep-pcaps)';\n"
    "  document.getElementById('d-log').textContent = c.log || '';\n"
    "  document.getElementById('d-log').hidden = !c.log;\n"
    "  const chart = document.getElementById('chart');\n"
    "  chart.innerHTML = c.svg || '';\n"
    "  chart.hidden = !c.svg;\n"
    "}\n"
    "render();\n";

/* A file of the report directory, embedded: at most EMBED_MAX bytes, NULL if it cannot be read.
 * *cut says whether it was longer. */
static char *read_embedded(const char *dir, const char *relative, size_t *len, bool *cut)
{
    char path[PATH_MAX];
    *cut = false;
    if (relative[0] == '\0' || snprintf(path, sizeof path, "%s/%s", dir, relative) >= PATH_MAX)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(EMBED_MAX + 1);
    if (buf == NULL) {
        fclose(f);
        return NULL;
    }
    *len = fread(buf, 1, EMBED_MAX, f);
    *cut = fgetc(f) != EOF;
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

static void json_member(FILE *f, const char *key, const char *value, bool first)
{
    fprintf(f, "%s\"%s\":", first ? "" : ",", key);
    json_write_html_string(f, value, strlen(value));
}

/* A sibling of the cell's peer pcap: same stem, another ending; "" when there is no pcap. */
static void sibling(const struct cell_result *c, const char *ending, char *buf, size_t cap)
{
    size_t len = strlen(c->pcap);
    buf[0] = '\0';
    if (len > 5 && strcmp(c->pcap + len - 5, ".pcap") == 0)
        snprintf(buf, cap, "%.*s%s", (int)(len - 5), c->pcap, ending);
}

static void json_embedded(FILE *f, const char *dir, const char *key, const char *relative,
                          bool is_svg)
{
    size_t len = 0;
    bool cut = false;
    char *content = read_embedded(dir, relative, &len, &cut);
    if (content == NULL)
        return;
    /* a cut chart is no SVG any more: link it rather than embed half of it */
    if (!(is_svg && cut)) {
        fprintf(f, ",\"%s\":", key);
        json_write_html_string(f, content, len);
        if (cut)
            fprintf(f, ",\"%s_cut\":true", key);
    }
    free(content);
}

static void json_cell(FILE *f, const char *dir, const struct cell_result *c)
{
    char local[sizeof c->pcap + 16], chart[sizeof c->pcap + 16], path[PATH_MAX];
    sibling(c, ".local.pcap", local, sizeof local);
    sibling(c, ".svg", chart, sizeof chart);
    if (local[0] != '\0' && snprintf(path, sizeof path, "%s/%s", dir, local) < PATH_MAX &&
        access(path, F_OK) != 0)
        local[0] = '\0';
    if (chart[0] != '\0' && snprintf(path, sizeof path, "%s/%s", dir, chart) < PATH_MAX &&
        access(path, F_OK) != 0)
        chart[0] = '\0';
    fputc('{', f);
    json_member(f, "name", c->name, true);
    json_member(f, "transport", c->transport, false);
    json_member(f, "scenario", c->scenario, false);
    json_member(f, "title", c->scenario_title, false);
    json_member(f, "kind", c->kind, false);
    json_member(f, "lane", c->lane, false);
    json_member(f, "status", cell_status_name(c->status), false);
    json_member(f, "reason", c->reason, false);
    fprintf(f, ",\"seconds\":%.6f", c->seconds);
    json_member(f, "pcap", c->pcap, false);
    json_member(f, "local_pcap", local, false);
    json_member(f, "chart_file", chart, false);
    json_member(f, "output", c->output, false);
    json_embedded(f, dir, "log", c->output, false);
    json_embedded(f, dir, "svg", chart, true);
    fputc('}', f);
}

static void html_text(FILE *f, const char *text)
{
    wire_write_markup(f, text, SIZE_MAX, false);
}

int report_write_html(FILE *f, const char *dir, const struct cell_result *results, size_t n,
                      const char *totals, const char *deviations, const char *lane_agreement)
{
    fprintf(f,
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>coapmx matrix report</title>\n<style>%s</style></head>\n<body>\n",
            page_style);
    fputs("<h1>coapmx matrix report</h1>\n<p id=\"totals\"><b>Totals:</b> ", f);
    html_text(f, totals);
    fputs("</p>\n<p class=\"legend\">outcome:", f);
    for (int s = CELL_PASS; s < CELL_STATUS_COUNT; s++)
        fprintf(f, "<span class=\"st-%s\"></span>%s", cell_status_name((enum cell_status)s),
                cell_status_name((enum cell_status)s));
    fputs("</p>\n<div id=\"filters\">", f);
    static const char *const filters[][2] = {{"iut", "IUT"},
                                             {"row", "row"},
                                             {"kind", "address kind"},
                                             {"lane", "lane"},
                                             {"status", "outcome"}};
    for (size_t i = 0; i < sizeof filters / sizeof filters[0]; i++)
        fprintf(f, "<label>%s <select id=\"f-%s\"></select></label>", filters[i][1], filters[i][0]);
    fputs("<span id=\"shown\"></span></div>\n"
          "<div id=\"details\" hidden><h2 id=\"d-name\"></h2><p><b id=\"d-status\"></b></p>"
          "<p id=\"d-reason\"></p><p id=\"d-links\"></p><div id=\"chart\"></div>"
          "<pre id=\"d-log\"></pre></div>\n"
          "<table id=\"matrix\" class=\"matrix\"></table>\n<h2>Deviations</h2>\n"
          "<pre class=\"section\">",
          f);
    html_text(f, deviations);
    fputs("</pre>\n<h2>Lane agreement</h2>\n<pre class=\"section\">", f);
    html_text(f, lane_agreement);
    fputs("</pre>\n<script type=\"application/json\" id=\"coapmx-cells\">[", f);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            fputs(",\n", f);
        json_cell(f, dir, &results[i]);
    }
    fprintf(f, "]</script>\n<script>\n%s</script>\n</body></html>\n", page_script);
    return ferror(f) ? -1 : 0;
}
