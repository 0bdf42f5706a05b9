#include "pcapfile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_MICRO    0xa1b2c3d4u
#define PCAP_MAGIC_NANO     0xa1b23c4du
#define PCAP_MAGIC_MODIFIED 0xa1b2cd34u /* Alexey Kuznetzov's: 8 more bytes per record */
#define PCAP_HEADER_LEN     24
#define PCAP_RECORD_LEN     16

#define PCAPNG_SHB       0x0a0d0d0au
#define PCAPNG_IDB       1u
#define PCAPNG_OPB       2u /* obsolete packet block */
#define PCAPNG_SPB       3u
#define PCAPNG_EPB       6u
#define PCAPNG_BOM       0x1a2b3c4du
#define PCAPNG_MIN_BLOCK 12u
/* A packet block holds a record, its fixed fields and some options; anything larger that is
 * not a packet is skipped unread. */
#define PCAPNG_MAX_READ_BLOCK (PCAPFILE_MAX_RECORD + 65536u)
#define PCAPNG_OPT_TSRESOL    9
#define PCAPNG_OPT_TSOFFSET   14

static int stop(struct pcapfile_reader *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int stop(struct pcapfile_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
    return -1;
}

static uint32_t swap32(uint32_t v)
{
    return (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
}

static uint32_t get32(const struct pcapfile_reader *r, const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return r->swapped ? swap32(v) : v;
}

static uint16_t get16(const struct pcapfile_reader *r, const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return r->swapped ? (uint16_t)((v >> 8) | (v << 8)) : v;
}

/* Reads exactly n bytes; how many arrived otherwise (0 at a clean end of file). */
static size_t read_fully(struct pcapfile_reader *r, void *buf, size_t n)
{
    size_t got = fread(buf, 1, n, r->f);
    r->offset += got;
    return got;
}

static bool reserve(struct pcapfile_reader *r, size_t n)
{
    if (n <= r->buf_cap)
        return true;
    uint8_t *bigger = realloc(r->buf, n);
    if (bigger == NULL)
        return false;
    r->buf = bigger;
    r->buf_cap = n;
    return true;
}

static uint64_t power(uint64_t base, unsigned exponent, bool *overflow)
{
    uint64_t v = 1;
    for (unsigned i = 0; i < exponent; i++) {
        if (v > UINT64_MAX / base)
            *overflow = true;
        v *= base;
    }
    return v;
}

static void to_timespec(uint64_t units, const struct pcapfile_iface *iface, struct timespec *ts)
{
    uint64_t ups = iface->units_per_second;
    ts->tv_sec = (time_t)(units / ups) + (time_t)iface->offset_seconds;
    ts->tv_nsec = (long)((unsigned __int128)(units % ups) * 1000000000u / ups);
}

/* ---- pcap ---- */

static int open_pcap(struct pcapfile_reader *r, const uint8_t *head)
{
    uint8_t rest[PCAP_HEADER_LEN - 4];
    uint32_t magic;
    memcpy(&magic, head, 4);
    r->swapped =
        magic != PCAP_MAGIC_MICRO && magic != PCAP_MAGIC_NANO && magic != PCAP_MAGIC_MODIFIED;
    uint32_t ours = r->swapped ? swap32(magic) : magic;
    if (read_fully(r, rest, sizeof rest) != sizeof rest)
        return stop(r, "the pcap file header is cut off after %llu bytes",
                    (unsigned long long)r->offset);
    r->format = PCAPFILE_PCAP;
    r->iface_count = 1;
    r->ifaces[0] = (struct pcapfile_iface){.linktype = (int)(get32(r, rest + 16) & 0xffffu),
                                           .snaplen = get32(r, rest + 12),
                                           .units_per_second =
                                               ours == PCAP_MAGIC_NANO ? 1000000000u : 1000000u};
    r->record_extra = ours == PCAP_MAGIC_MODIFIED ? 8 : 0;
    return 0;
}

static int next_pcap(struct pcapfile_reader *r, struct pcapfile_record *rec)
{
    uint8_t header[PCAP_RECORD_LEN + 8];
    size_t header_len = PCAP_RECORD_LEN + r->record_extra;
    uint64_t at = r->offset;
    size_t got = read_fully(r, header, header_len);
    if (got == 0)
        return 0;
    if (got != header_len)
        return stop(r, "frame %llu at byte %llu is cut off: %zu of its %zu header bytes",
                    (unsigned long long)r->records + 1, (unsigned long long)at, got, header_len);
    uint32_t caplen = get32(r, header + 8), origlen = get32(r, header + 12);
    if (caplen > PCAPFILE_MAX_RECORD)
        return stop(r, "frame %llu at byte %llu claims %u captured bytes, more than %u",
                    (unsigned long long)r->records + 1, (unsigned long long)at, caplen,
                    PCAPFILE_MAX_RECORD);
    if (!reserve(r, caplen ? caplen : 1))
        return stop(r, "out of memory at frame %llu", (unsigned long long)r->records + 1);
    got = read_fully(r, r->buf, caplen);
    if (got != caplen)
        return stop(r, "frame %llu at byte %llu is cut off: %zu of its %u bytes",
                    (unsigned long long)r->records + 1, (unsigned long long)at, got, caplen);
    const struct pcapfile_iface iface = r->ifaces[0];
    *rec = (struct pcapfile_record){.number = ++r->records,
                                    .offset = at,
                                    .linktype = iface.linktype,
                                    .caplen = caplen,
                                    .origlen = origlen,
                                    .data = r->buf};
    uint64_t frac = get32(r, header + 4);
    if (frac >= iface.units_per_second)
        return stop(r, "frame %llu at byte %llu has a fraction of a second of %llu",
                    (unsigned long long)rec->number, (unsigned long long)at,
                    (unsigned long long)frac);
    to_timespec((uint64_t)get32(r, header) * iface.units_per_second + frac, &iface, &rec->ts);
    return 1;
}

/* ---- pcapng ---- */

/* A section header: its byte order decides how everything up to the next one is read. */
static int read_section_header(struct pcapfile_reader *r, uint64_t at, const uint8_t *length_raw)
{
    uint8_t fixed[4];
    if (read_fully(r, fixed, 4) != 4)
        return stop(r, "the pcapng section header at byte %llu is cut off", (unsigned long long)at);
    uint32_t bom;
    memcpy(&bom, fixed, 4);
    if (bom != PCAPNG_BOM && swap32(bom) != PCAPNG_BOM)
        return stop(r, "the pcapng section header at byte %llu has no byte-order magic",
                    (unsigned long long)at);
    r->swapped = bom != PCAPNG_BOM;
    uint32_t length = get32(r, length_raw);
    if (length < 28 || length % 4 != 0 || length > PCAPNG_MAX_READ_BLOCK)
        return stop(r, "the pcapng section header at byte %llu has a length of %u",
                    (unsigned long long)at, length);
    if (!reserve(r, length))
        return stop(r, "out of memory");
    if (read_fully(r, r->buf, length - 12) != length - 12)
        return stop(r, "the pcapng section header at byte %llu is cut off", (unsigned long long)at);
    if (get16(r, r->buf) != 1)
        return stop(r, "pcapng section at byte %llu is version %u, not 1", (unsigned long long)at,
                    get16(r, r->buf));
    r->format = PCAPFILE_PCAPNG;
    r->iface_count = 0; /* interfaces belong to their section */
    return 0;
}

/* Options of an interface description: timestamp resolution and offset. */
static int read_iface_options(struct pcapfile_reader *r, const uint8_t *p, size_t len,
                              struct pcapfile_iface *iface, uint64_t at)
{
    while (len >= 4) {
        uint16_t code = get16(r, p), olen = get16(r, p + 2);
        size_t padded = ((size_t)olen + 3) & ~(size_t)3;
        if (code == 0)
            break;
        if (4 + padded > len)
            return stop(r, "an option of the interface at byte %llu runs past its block",
                        (unsigned long long)at);
        if (code == PCAPNG_OPT_TSRESOL && olen >= 1) {
            bool overflow = false;
            uint8_t v = p[4];
            iface->units_per_second =
                v & 0x80 ? power(2, v & 0x7fu, &overflow) : power(10, v, &overflow);
            if (overflow)
                return stop(r,
                            "the interface at byte %llu has a timestamp resolution of 0x%02x, "
                            "finer than 64 bits can count",
                            (unsigned long long)at, v);
        } else if (code == PCAPNG_OPT_TSOFFSET && olen >= 8) {
            uint64_t lo = get32(r, p + 4), hi = get32(r, p + 8);
            iface->offset_seconds = (int64_t)(r->swapped ? (lo << 32 | hi) : (hi << 32 | lo));
        }
        p += 4 + padded;
        len -= 4 + padded;
    }
    return 0;
}

static int add_iface(struct pcapfile_reader *r, const uint8_t *body, size_t len, uint64_t at)
{
    if (len < 8)
        return stop(r, "the interface description at byte %llu is too short",
                    (unsigned long long)at);
    if (r->iface_count == PCAPFILE_MAX_IFACES)
        return stop(r, "more than %d interfaces in one section", PCAPFILE_MAX_IFACES);
    struct pcapfile_iface *iface = &r->ifaces[r->iface_count];
    *iface = (struct pcapfile_iface){
        .linktype = get16(r, body), .snaplen = get32(r, body + 4), .units_per_second = 1000000u};
    if (read_iface_options(r, body + 8, len - 8, iface, at) != 0)
        return -1;
    r->iface_count++;
    return 0;
}

static int packet(struct pcapfile_reader *r, struct pcapfile_record *rec, uint64_t at,
                  unsigned iface_id, uint64_t units, uint32_t caplen, uint32_t origlen,
                  const uint8_t *data, size_t room)
{
    rec->number = ++r->records;
    if (iface_id >= r->iface_count)
        return stop(r, "frame %llu at byte %llu names interface %u, of %zu described",
                    (unsigned long long)rec->number, (unsigned long long)at, iface_id,
                    r->iface_count);
    if (caplen > room || caplen > PCAPFILE_MAX_RECORD)
        return stop(r,
                    "frame %llu at byte %llu claims %u captured bytes in a block with room for "
                    "%zu",
                    (unsigned long long)rec->number, (unsigned long long)at, caplen, room);
    const struct pcapfile_iface *iface = &r->ifaces[iface_id];
    rec->offset = at;
    rec->interface = iface_id;
    rec->linktype = iface->linktype;
    rec->caplen = caplen;
    rec->origlen = origlen;
    rec->data = data;
    to_timespec(units, iface, &rec->ts);
    return 1;
}

/* Skips a block body without holding it (a name table or secrets block can be large). */
static int skip_body(struct pcapfile_reader *r, uint32_t length, uint64_t at)
{
    size_t left = length - 8;
    uint8_t chunk[4096];
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        if (read_fully(r, chunk, n) != n)
            return stop(r, "the block at byte %llu is cut off", (unsigned long long)at);
        left -= n;
    }
    return 0;
}

static int next_pcapng(struct pcapfile_reader *r, struct pcapfile_record *rec)
{
    for (;;) {
        uint8_t head[8];
        uint64_t at = r->offset;
        size_t got = read_fully(r, head, 8);
        if (got == 0)
            return 0;
        if (got != 8)
            return stop(r, "the block at byte %llu is cut off: %zu of its 8 header bytes",
                        (unsigned long long)at, got);
        uint32_t type = get32(r, head);
        if (type == PCAPNG_SHB) {
            if (read_section_header(r, at, head + 4) != 0)
                return -1;
            continue;
        }
        uint32_t length = get32(r, head + 4);
        if (length < PCAPNG_MIN_BLOCK || length % 4 != 0)
            return stop(r, "the block at byte %llu has a length of %u", (unsigned long long)at,
                        length);
        bool is_packet = type == PCAPNG_EPB || type == PCAPNG_SPB || type == PCAPNG_OPB;
        if (!is_packet && type != PCAPNG_IDB) {
            if (skip_body(r, length, at) != 0)
                return -1;
            continue;
        }
        if (length > PCAPNG_MAX_READ_BLOCK)
            return stop(r, "the block at byte %llu claims %u bytes, more than %u",
                        (unsigned long long)at, length, PCAPNG_MAX_READ_BLOCK);
        if (!reserve(r, length))
            return stop(r, "out of memory");
        size_t body_len = length - 12;
        got = read_fully(r, r->buf, length - 8);
        if (got != length - 8)
            return stop(r, "the block at byte %llu is cut off: %zu of its %u bytes",
                        (unsigned long long)at, got + 8, length);
        if (get32(r, r->buf + body_len) != length)
            return stop(r, "the block at byte %llu ends with another length than it began with",
                        (unsigned long long)at);
        const uint8_t *b = r->buf;
        if (type == PCAPNG_IDB) {
            if (add_iface(r, b, body_len, at) != 0)
                return -1;
            continue;
        }
        if (type == PCAPNG_EPB && body_len >= 20)
            return packet(r, rec, at, get32(r, b),
                          (uint64_t)get32(r, b + 4) << 32 | get32(r, b + 8), get32(r, b + 12),
                          get32(r, b + 16), b + 20, body_len - 20);
        if (type == PCAPNG_OPB && body_len >= 20)
            return packet(r, rec, at, get16(r, b),
                          (uint64_t)get32(r, b + 4) << 32 | get32(r, b + 8), get32(r, b + 12),
                          get32(r, b + 16), b + 20, body_len - 20);
        if (type == PCAPNG_SPB && body_len >= 4) {
            /* No time of its own; it holds what the first interface's snapshot length let in. */
            uint32_t origlen = get32(r, b), caplen = origlen;
            uint32_t snaplen = r->iface_count ? r->ifaces[0].snaplen : 0;
            if (snaplen != 0 && caplen > snaplen)
                caplen = snaplen;
            if (caplen > body_len - 4)
                caplen = (uint32_t)(body_len - 4);
            return packet(r, rec, at, 0, 0, caplen, origlen, b + 4, body_len - 4);
        }
        return stop(r, "the packet block at byte %llu is too short for its fields",
                    (unsigned long long)at);
    }
}

int pcapfile_open(struct pcapfile_reader *r, FILE *f)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    uint8_t head[8];
    size_t got = read_fully(r, head, 4);
    if (got != 4)
        return stop(r, "%s", got == 0 ? "the file is empty" : "the file is too short for a header");
    uint32_t magic;
    memcpy(&magic, head, 4);
    if (magic == PCAPNG_SHB) {
        if (read_fully(r, head + 4, 4) != 4)
            return stop(r, "the pcapng section header is cut off");
        return read_section_header(r, 0, head + 4);
    }
    uint32_t ours = swap32(magic);
    bool known = magic == PCAP_MAGIC_MICRO || magic == PCAP_MAGIC_NANO ||
                 magic == PCAP_MAGIC_MODIFIED || ours == PCAP_MAGIC_MICRO ||
                 ours == PCAP_MAGIC_NANO || ours == PCAP_MAGIC_MODIFIED;
    if (!known)
        return stop(r, "not a pcap or pcapng file (it begins %02x %02x %02x %02x)", head[0],
                    head[1], head[2], head[3]);
    return open_pcap(r, head);
}

int pcapfile_next(struct pcapfile_reader *r, struct pcapfile_record *rec)
{
    if (r->error[0] != '\0')
        return -1;
    int rc = r->format == PCAPFILE_PCAP ? next_pcap(r, rec) : next_pcapng(r, rec);
    if (rc == 0 && ferror(r->f))
        return stop(r, "reading stopped at byte %llu: %s", (unsigned long long)r->offset,
                    strerror(errno));
    return rc;
}

void pcapfile_close(struct pcapfile_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->buf_cap = 0;
}

int pcapfile_linktype(const struct pcapfile_reader *r)
{
    return r->iface_count > 0 ? r->ifaces[0].linktype : -1;
}

/* ---- writing ---- */

static int put(struct pcapfile_writer *w, const void *p, size_t n)
{
    return fwrite(p, 1, n, w->f) == n ? 0 : -1;
}

int pcapfile_create(struct pcapfile_writer *w, const char *path, int linktype, uint32_t snaplen)
{
    w->f = fopen(path, "wb");
    if (w->f == NULL)
        return -1;
    uint32_t magic = PCAP_MAGIC_MICRO, zone = 0, sigfigs = 0, network = (uint32_t)linktype;
    uint16_t major = 2, minor = 4;
    if (put(w, &magic, 4) || put(w, &major, 2) || put(w, &minor, 2) || put(w, &zone, 4) ||
        put(w, &sigfigs, 4) || put(w, &snaplen, 4) || put(w, &network, 4)) {
        fclose(w->f);
        w->f = NULL;
        return -1;
    }
    return 0;
}

int pcapfile_write(struct pcapfile_writer *w, const struct timespec *ts, const uint8_t *data,
                   uint32_t caplen, uint32_t origlen)
{
    uint32_t header[4] = {(uint32_t)ts->tv_sec, (uint32_t)(ts->tv_nsec / 1000), caplen, origlen};
    return put(w, header, sizeof header) || put(w, data, caplen) ? -1 : 0;
}

int pcapfile_flush(struct pcapfile_writer *w)
{
    return fflush(w->f) == 0 ? 0 : -1;
}

int pcapfile_finish(struct pcapfile_writer *w)
{
    int rc = fclose(w->f) == 0 ? 0 : -1;
    w->f = NULL;
    return rc;
}
