/* Message sequence charts as SVG (see chart.h). */
#include "chart.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "../transports/addr.h"
#include "wirefmt.h"

#define LEFT_MARGIN     190 /* frame numbers and times */
#define LIFELINE_GAP    260
#define HEADER_HEIGHT   70
#define ROW_HEIGHT      38
#define FOOTER_HEIGHT   140
#define RIGHT_MARGIN    120
#define MIN_WIDTH       1000
#define LABEL_MAX_CHARS 64
#define FOOTER_LINE     140 /* longer labels are cut, the full text is the arrow's tooltip */

static const struct {
    const char *css_class, *legend;
} styles[CHART_STYLE_COUNT] = {
    [CHART_MESSAGE] = {"msg", "CoAP message"},
    [CHART_RETRANSMISSION] = {"retx", "retransmission"},
    [CHART_DUPLICATE] = {"dup", "duplicate"},
    [CHART_RESET] = {"rst", "RST"},
    [CHART_ICMP] = {"icmp", "ICMP error"},
    [CHART_MALFORMED] = {"bad", "malformed CoAP"},
    [CHART_OTHER] = {"other", "not CoAP (UDP, DTLS, fragment)"},
    [CHART_NOTE] = {"note", "block-wise transfer ended"},
};

static bool same_address(const struct sockaddr *a, const struct sockaddr_storage *b, bool port)
{
    const struct sockaddr *sb = (const struct sockaddr *)b;
    return coapmx_sockaddr_same_ip(a, sb) &&
           (!port || coapmx_sockaddr_port(a) == coapmx_sockaddr_port(sb));
}

int chart_read_hosts(struct chart *c, const char *path, char *err, size_t err_cap)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[512];
    while (fgets(line, sizeof line, f) != NULL && c->name_count < CHART_MAX_NAMES) {
        char address[INET6_ADDRSTRLEN + 1], name[128];
        if (line[0] == '#' || sscanf(line, "%46s %127s", address, name) != 2)
            continue;
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        if (inet_pton(AF_INET, address, &sin->sin_addr) == 1)
            sin->sin_family = AF_INET;
        else if (inet_pton(AF_INET6, address, &sin6->sin6_addr) == 1)
            sin6->sin6_family = AF_INET6;
        else
            continue;
        c->names[c->name_count].addr = ss;
        snprintf(c->names[c->name_count].name, sizeof c->names[0].name, "%s", name);
        c->name_count++;
    }
    fclose(f);
    return 0;
}

/* The first name the hosts file gives the address (a file lists a host's names in order). */
static const char *name_of(const struct chart *c, const struct sockaddr *sa)
{
    for (size_t i = 0; i < c->name_count; i++)
        if (same_address(sa, &c->names[i].addr, false))
            return c->names[i].name;
    return "";
}

static int lifeline_of(const struct chart *c, const struct sockaddr *sa, bool with_port)
{
    for (size_t i = 0; i < c->lifeline_count; i++)
        if (same_address(sa, &c->lifelines[i].addr, with_port && c->lifelines[i].with_port))
            return (int)i;
    return -1;
}

void chart_add_endpoint(struct chart *c, const struct sockaddr *sa, bool with_port)
{
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
        return;
    if (lifeline_of(c, sa, with_port) >= 0)
        return;
    if (c->lifeline_count == CHART_MAX_LIFELINES) {
        c->others = true;
        return;
    }
    struct chart_lifeline *l = &c->lifelines[c->lifeline_count++];
    memset(l, 0, sizeof *l);
    memcpy(&l->addr, sa,
           sa->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
    l->with_port = with_port;
    snprintf(l->name, sizeof l->name, "%s", name_of(c, sa));
}

/* Our labels are ASCII (wirefmt escapes the rest); anything else becomes '?'. */
static void escaped(FILE *f, const char *text, size_t max_chars)
{
    wire_write_markup(f, text, max_chars, true);
}

static size_t lanes(const struct chart *c)
{
    return c->lifeline_count + (c->others ? 1 : 0);
}

static int lane_x(size_t lane)
{
    return LEFT_MARGIN + (int)lane * LIFELINE_GAP;
}

static int row_y(size_t row)
{
    return HEADER_HEIGHT + 30 + (int)row * ROW_HEIGHT;
}

void chart_begin(struct chart *c, FILE *out, const char *title, size_t expected_rows)
{
    c->out = out;
    c->title = title;
    c->rows = c->rows_not_drawn = 0;
    size_t rows = expected_rows < CHART_MAX_ROWS ? expected_rows : CHART_MAX_ROWS;
    size_t n = lanes(c) > 0 ? lanes(c) : 1;
    int width = lane_x(n - 1) + RIGHT_MARGIN + 60;
    if (width < MIN_WIDTH)
        width = MIN_WIDTH; /* room for the footer and the legend */
    int height = row_y(rows) + FOOTER_HEIGHT;
    fprintf(out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"coapmx-chart\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"11\">\n",
            width, height, width, height);
    fputs("<title>", out);
    escaped(out, title, 200);
    fputs("</title>\n<style>\n"
          ".msg{stroke:#1f2937}.retx{stroke:#d97706;stroke-dasharray:6 3}"
          ".dup{stroke:#6b7280;stroke-dasharray:2 3}.rst{stroke:#dc2626}"
          ".icmp{stroke:#dc2626;stroke-dasharray:1 3;stroke-width:2}.bad{stroke:#7c3aed}"
          ".other{stroke:#9ca3af}.note{stroke:#059669}"
          "line.arrow{stroke-width:1.5;marker-end:url(#head)}text{stroke:none;fill:#111827}"
          "text.annot{fill:#4b5563;font-size:10px}text.time{fill:#6b7280}text.ended{fill:#059669}"
          "line.life{stroke:#d1d5db;stroke-width:1}\n"
          "</style>\n<defs><marker id=\"head\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" "
          "refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#374151\"/>"
          "</marker></defs>\n",
          out);
    fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n");
    for (size_t i = 0; i < n; i++) {
        int x = lane_x(i);
        char addr[INET6_ADDRSTRLEN + 16] = "others";
        const char *name = "";
        if (i < c->lifeline_count) {
            const struct chart_lifeline *l = &c->lifelines[i];
            struct wire_line line = wire_line_start(addr, sizeof addr);
            if (l->with_port)
                wire_line_sockaddr(&line, (const struct sockaddr *)&l->addr);
            else
                wire_line_host(&line, (const struct sockaddr *)&l->addr);
            name = l->name;
        }
        fprintf(out,
                "<g class=\"lifeline\"><text x=\"%d\" y=\"24\" text-anchor=\"middle\" "
                "font-weight=\"bold\">",
                x);
        escaped(out, addr, 60);
        fprintf(out, "</text><text x=\"%d\" y=\"40\" text-anchor=\"middle\">", x);
        escaped(out, name, 60);
        fprintf(out, "</text><line class=\"life\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
                x, HEADER_HEIGHT - 20, x, row_y(rows));
    }
}

static int lane_of(const struct chart *c, const struct sockaddr *sa, bool with_port)
{
    int lane = lifeline_of(c, sa, with_port);
    return lane >= 0 ? lane : (int)c->lifeline_count; /* "others" */
}

void chart_row(struct chart *c, const struct chart_row *row)
{
    if (c->rows == CHART_MAX_ROWS) {
        c->rows_not_drawn++;
        return;
    }
    FILE *out = c->out;
    int y = row_y(c->rows++);
    const char *css = styles[row->style].css_class;
    fprintf(out, "<g class=\"row\" data-style=\"%s\" data-frame=\"%llu\"><title>", css,
            (unsigned long long)row->frame);
    escaped(out, row->label, 2000);
    if (row->note[0] != '\0') {
        fputc(' ', out);
        escaped(out, row->note, 2000);
    }
    char time[32];
    struct wire_line t = wire_line_start(time, sizeof time);
    wire_line_micros(&t, row->micros);
    fprintf(out, "</title><text class=\"time\" x=\"8\" y=\"%d\">#%llu %s</text>", y + 4,
            (unsigned long long)row->frame, time);
    if (row->style == CHART_NOTE) {
        fprintf(out, "<text class=\"ended\" x=\"%d\" y=\"%d\">", lane_x(0), y + 4);
        escaped(out, row->label, 120);
        fputs("</text></g>\n", out);
        return;
    }
    int x1 = lane_x((size_t)lane_of(c, row->src, row->with_ports));
    int x2 = lane_x((size_t)lane_of(c, row->dst, row->with_ports));
    if (x1 == x2) {
        /* to itself (or within "others"): a loop to the right */
        fprintf(out,
                "<path class=\"%s\" fill=\"none\" stroke-width=\"1.5\" d=\"M%d,%d h40 v12 h-36\" "
                "marker-end=\"url(#head)\"/>",
                css, x1, y - 6);
    } else {
        int end = x2 > x1 ? x2 - 2 : x2 + 2;
        fprintf(out, "<line class=\"arrow %s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", css, x1,
                y, end, y);
    }
    int mid = (x1 + x2) / 2 + (x1 == x2 ? 60 : 0);
    fprintf(out, "<text class=\"label\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", mid, y - 5);
    escaped(out, row->label, LABEL_MAX_CHARS);
    fputs("</text>", out);
    if (row->note[0] != '\0') {
        fprintf(out, "<text class=\"annot\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", mid,
                y + 12);
        escaped(out, row->note, LABEL_MAX_CHARS + 20);
        fputs("</text>", out);
    }
    fputs("</g>\n", out);
}

void chart_end(struct chart *c, const char *footer)
{
    FILE *out = c->out;
    int y = row_y(c->rows) + 10;
    if (c->rows_not_drawn > 0) {
        fprintf(out,
                "<text x=\"8\" y=\"%d\" fill=\"#dc2626\">%zu more rows not drawn (the chart "
                "stops at %d; coapmx pcap prints them all)</text>\n",
                y, c->rows_not_drawn, CHART_MAX_ROWS);
        y += 16;
    }
    /* the footer in lines of at most FOOTER_LINE characters, broken at spaces */
    const char *p = footer;
    while (*p != '\0') {
        size_t len = strlen(p);
        if (len > FOOTER_LINE) {
            len = FOOTER_LINE;
            while (len > 0 && p[len] != ' ')
                len--;
            if (len == 0)
                len = FOOTER_LINE;
        }
        char piece[FOOTER_LINE + 1];
        memcpy(piece, p, len);
        piece[len] = '\0';
        fprintf(out, "<text x=\"8\" y=\"%d\">", y);
        escaped(out, piece, FOOTER_LINE);
        fputs("</text>\n", out);
        y += 15;
        p += len;
        while (*p == ' ')
            p++;
    }
    y += 10;
    int x = 8;
    for (int s = 0; s < CHART_STYLE_COUNT; s++) {
        fprintf(out,
                "<g class=\"legend\"><line class=\"%s\" stroke-width=\"2\" x1=\"%d\" y1=\"%d\" "
                "x2=\"%d\" y2=\"%d\"/><text x=\"%d\" y=\"%d\">%s</text></g>\n",
                styles[s].css_class, x, y, x + 24, y, x + 30, y + 4, styles[s].legend);
        x += 30 + 7 * (int)strlen(styles[s].legend) + 24;
        if (x > 900) {
            x = 8;
            y += 18;
        }
    }
    fputs("</svg>\n", out);
}
