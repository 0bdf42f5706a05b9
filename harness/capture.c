/* Capture reader: pcap records -> wire_datagram list (see capture.h). */
#include "capture.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../transports/addr.h"
#include "dissect.h"
#include "pcapfile.h"
#include "wirefmt.h"

#define STORAGE_CHUNK_SIZE 65536
#define PRINT_LINE_SIZE    512

struct bytes {
    const uint8_t *ptr;
    size_t len;
};

/* Packet bytes live in chunks that are never moved, so coap_msg pointers stay valid. */
struct storage_chunk {
    struct storage_chunk *next;
    size_t size, used;
    uint8_t data[];
};

struct loader {
    struct wire_capture *cap;
    size_t items_capacity;
    bool out_of_memory;
};

static void set_error(char *errbuf, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

/* ---- storage ---- */

static const uint8_t *store_bytes(struct wire_capture *cap, struct bytes b)
{
    struct storage_chunk *chunk = cap->storage;
    if (chunk == NULL || chunk->size - chunk->used < b.len) {
        size_t size = b.len > STORAGE_CHUNK_SIZE ? b.len : STORAGE_CHUNK_SIZE;
        chunk = malloc(sizeof *chunk + size);
        if (chunk == NULL)
            return NULL;
        chunk->next = cap->storage;
        chunk->size = size;
        chunk->used = 0;
        cap->storage = chunk;
    }
    uint8_t *dst = chunk->data + chunk->used;
    if (b.len > 0)
        memcpy(dst, b.ptr, b.len);
    chunk->used += b.len;
    return dst;
}

static void free_storage(struct storage_chunk *chunk)
{
    while (chunk != NULL) {
        struct storage_chunk *next = chunk->next;
        free(chunk);
        chunk = next;
    }
}

static struct wire_datagram *append_item(struct loader *ld)
{
    struct wire_capture *cap = ld->cap;
    if (cap->count == ld->items_capacity) {
        size_t capacity = ld->items_capacity ? ld->items_capacity * 2 : 64;
        struct wire_datagram *items = realloc(cap->items, capacity * sizeof *items);
        if (items == NULL)
            return NULL;
        cap->items = items;
        ld->items_capacity = capacity;
    }
    return &cap->items[cap->count++];
}

/* ---- records ---- */

/* Copies the payload into the capture's storage and decodes it as CoAP: a cell knows its
 * datagrams are CoAP whatever their ports. */
static bool attach_payload(struct loader *ld, struct wire_datagram *dg, struct bytes payload)
{
    const uint8_t *copy = store_bytes(ld->cap, payload);
    if (copy == NULL) {
        ld->out_of_memory = true;
        return false;
    }
    dg->payload = copy;
    dg->payload_len = payload.len;
    dg->coap_status = coap_parse(copy, payload.len, &dg->coap);
    return true;
}

static void add_record(struct loader *ld, const struct pcapfile_record *rec)
{
    struct dissect_frame f;
    dissect_record(rec->linktype, rec->data, rec->caplen, rec->origlen, &f);
    /* a later fragment carries no UDP header: nothing a cell could match on */
    if (f.skip != DISSECT_KEPT || f.kind == DISSECT_FRAGMENT) {
        ld->cap->skipped++;
        return;
    }
    struct wire_datagram *dg = append_item(ld);
    if (dg == NULL) {
        ld->out_of_memory = true;
        return;
    }
    memset(dg, 0, sizeof *dg);
    dg->number = rec->number;
    dg->ts = (struct timeval){.tv_sec = rec->ts.tv_sec, .tv_usec = rec->ts.tv_nsec / 1000};
    dg->kind = f.kind == DISSECT_ICMP ? WIRE_ICMP : WIRE_UDP;
    dg->family = f.family;
    dg->src = f.src;
    dg->dst = f.dst;
    dg->icmp_type = f.icmp_type;
    dg->icmp_code = f.icmp_code;
    dg->inner_src = f.inner_src;
    dg->inner_dst = f.inner_dst;
    if (!attach_payload(ld, dg, (struct bytes){f.payload, f.payload_len}))
        ld->cap->count--;
}

/* ---- loading ---- */

static int read_records(struct pcapfile_reader *reader, struct wire_capture *cap, char *errbuf,
                        size_t errlen)
{
    cap->linktype = pcapfile_linktype(reader);
    /* One unsupported link type makes a pcap useless; in a pcapng it is one interface's. */
    if (reader->format == PCAPFILE_PCAP && !dissect_linktype_known(cap->linktype)) {
        set_error(errbuf, errlen, "unsupported link type %d", cap->linktype);
        return -1;
    }
    struct loader ld = {.cap = cap};
    struct pcapfile_record rec;
    int rc;
    while ((rc = pcapfile_next(reader, &rec)) > 0) {
        if (cap->linktype < 0)
            cap->linktype = rec.linktype;
        add_record(&ld, &rec);
        if (ld.out_of_memory) {
            set_error(errbuf, errlen, "out of memory");
            return -1;
        }
    }
    if (rc < 0) {
        set_error(errbuf, errlen, "%s", reader->error);
        return -1;
    }
    return 0;
}

/* A file that exists but is still empty has not received its pcap header yet. */
static bool file_is_empty(FILE *fp)
{
    struct stat st;
    return fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

int wire_capture_load(const char *path, struct wire_capture *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->linktype = -1;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        if (errno == ENOENT)
            return 0;
        set_error(errbuf, errlen, "%s", strerror(errno));
        return -1;
    }
    if (file_is_empty(fp)) {
        fclose(fp);
        return 0;
    }
    struct pcapfile_reader reader;
    int rc = pcapfile_open(&reader, fp);
    if (rc != 0)
        set_error(errbuf, errlen, "%s", reader.error);
    else
        rc = read_records(&reader, out, errbuf, errlen);
    pcapfile_close(&reader);
    fclose(fp);
    if (rc != 0) {
        wire_capture_free(out);
        out->linktype = -1;
    }
    return rc;
}

void wire_capture_free(struct wire_capture *cap)
{
    if (cap == NULL)
        return;
    free(cap->items);
    free_storage(cap->storage);
    memset(cap, 0, sizeof *cap);
}

/* ---- filtering ---- */

static bool address_matches(const struct sockaddr *want, const struct sockaddr_storage *have)
{
    if (want == NULL)
        return true;
    const struct sockaddr *sa = (const struct sockaddr *)have;
    uint16_t port = coapmx_sockaddr_port(want);
    return coapmx_sockaddr_same_ip(want, sa) && (port == 0 || port == coapmx_sockaddr_port(sa));
}

static bool coap_matches(const struct wire_datagram *dg, const struct wire_filter *f)
{
    bool needs_coap = f->coap_only || f->coap_type >= 0 || f->coap_code >= 0;
    if (!needs_coap)
        return true;
    if (dg->coap_status != COAP_OK)
        return false;
    return (f->coap_type < 0 || (int)dg->coap.type == f->coap_type) &&
           (f->coap_code < 0 || dg->coap.code == f->coap_code);
}

static bool datagram_matches(const struct wire_datagram *dg, const struct wire_filter *f)
{
    if (f == NULL)
        return dg->kind == WIRE_UDP;
    if (dg->kind == WIRE_ICMP && !f->include_icmp)
        return false;
    if (f->family != 0 && dg->family != f->family)
        return false;
    return address_matches(f->src, &dg->src) && address_matches(f->dst, &dg->dst) &&
           coap_matches(dg, f);
}

size_t wire_count(const struct wire_capture *cap, const struct wire_filter *filter)
{
    size_t matches = 0;
    for (size_t i = 0; i < cap->count; i++)
        matches += datagram_matches(&cap->items[i], filter);
    return matches;
}

const struct wire_datagram *wire_find(const struct wire_capture *cap,
                                      const struct wire_filter *filter, size_t nth)
{
    for (size_t i = 0; i < cap->count; i++) {
        if (datagram_matches(&cap->items[i], filter) && nth-- == 0)
            return &cap->items[i];
    }
    return NULL;
}

/* ---- formatting ---- */

static void line_append_icmp(struct wire_line *l, const struct wire_datagram *dg)
{
    wire_line_append(l, "%s %u/%u about ", dissect_icmp_name(dg->family, dg->icmp_type),
                     (unsigned)dg->icmp_type, (unsigned)dg->icmp_code);
    wire_line_sockaddr(l, (const struct sockaddr *)&dg->inner_src);
    wire_line_append(l, " -> ");
    wire_line_sockaddr(l, (const struct sockaddr *)&dg->inner_dst);
}

static void line_append_endpoints(struct wire_line *l, const struct wire_datagram *dg)
{
    const struct sockaddr *src = (const struct sockaddr *)&dg->src;
    const struct sockaddr *dst = (const struct sockaddr *)&dg->dst;
    if (dg->kind == WIRE_ICMP) {
        /* the ICMP packet itself has no ports */
        wire_line_host(l, src);
        wire_line_append(l, " -> ");
        wire_line_host(l, dst);
    } else {
        wire_line_sockaddr(l, src);
        wire_line_append(l, " -> ");
        wire_line_sockaddr(l, dst);
    }
}

static long long micros_between(struct timeval origin, struct timeval ts)
{
    return wire_micros_between(origin.tv_sec, origin.tv_usec, ts.tv_sec, ts.tv_usec);
}

size_t wire_format(const struct wire_capture *cap, const struct wire_datagram *dg, char *buf,
                   size_t cap_len)
{
    struct wire_line l = wire_line_start(buf, cap_len);
    struct timeval origin = cap != NULL && cap->count > 0 ? cap->items[0].ts : dg->ts;
    wire_line_append(&l, "#%llu ", (unsigned long long)dg->number);
    wire_line_micros(&l, micros_between(origin, dg->ts));
    wire_line_append(&l, "  ");
    line_append_endpoints(&l, dg);
    wire_line_append(&l, "  ");
    if (dg->kind == WIRE_ICMP)
        line_append_icmp(&l, dg);
    else if (dg->coap_status == COAP_OK)
        wire_line_coap(&l, &dg->coap);
    else
        wire_line_append(&l, "UDP %zu bytes (not CoAP: %s)", dg->payload_len,
                         coap_status_str(dg->coap_status));
    return l.len;
}
