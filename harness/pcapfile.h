/* pcap and pcapng files as a stream of records, and pcap files written record by record.
 * Nothing here decodes packets (capture.c does): a record is a time, the link type of the
 * interface it was captured on, and its bytes. Reading never trusts the file: every length is
 * checked against the file and against a limit, and reading stops at the first inconsistency
 * with a message that says where and why, after every good record before it. */
#ifndef COAPMX_PCAPFILE_H
#define COAPMX_PCAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* Link types as files carry them (the tcpdump.org registry; not libpcap's DLT_ values). */
#define LINKTYPE_NULL       0
#define LINKTYPE_ETHERNET   1
#define LINKTYPE_RAW_BSD    12 /* what some systems write for raw IP */
#define LINKTYPE_RAW_BSD2   14
#define LINKTYPE_RAW        101
#define LINKTYPE_LOOP       108
#define LINKTYPE_LINUX_SLL  113
#define LINKTYPE_IPV4       228
#define LINKTYPE_IPV6       229
#define LINKTYPE_LINUX_SLL2 276

/* The largest record accepted: libpcap's own limit on a snapshot length. */
#define PCAPFILE_MAX_RECORD 262144
#define PCAPFILE_MAX_IFACES 64

enum pcapfile_format { PCAPFILE_PCAP, PCAPFILE_PCAPNG };

struct pcapfile_record {
    uint64_t number; /* 1-based, counting every packet record as Wireshark numbers frames */
    uint64_t offset; /* of the record in the file */
    struct timespec ts;
    int linktype;       /* of the interface it was captured on */
    unsigned interface; /* pcapng interface id; 0 in pcap */
    uint32_t caplen, origlen;
    const uint8_t *data; /* caplen bytes, valid until the next call */
};

struct pcapfile_iface {
    int linktype;
    uint32_t snaplen;
    uint64_t units_per_second; /* timestamp resolution */
    int64_t offset_seconds;
};

struct pcapfile_reader {
    FILE *f;
    enum pcapfile_format format;
    bool swapped;        /* the file's byte order is not ours */
    size_t record_extra; /* pcap record header bytes beyond the standard 16 */
    struct pcapfile_iface ifaces[PCAPFILE_MAX_IFACES];
    size_t iface_count;
    uint64_t offset, records;
    uint8_t *buf;
    size_t buf_cap;
    char error[256]; /* why reading stopped early ("" at a clean end) */
};

/* Reads the file header (pcap, either byte order, micro- or nanosecond; or pcapng). Returns 0,
 * or -1 with r->error set. The reader does not own f. */
int pcapfile_open(struct pcapfile_reader *r, FILE *f);
/* 1: *rec holds the next record; 0: the file ended cleanly; -1: reading stopped, r->error says
 * where and why (records before it were good). */
int pcapfile_next(struct pcapfile_reader *r, struct pcapfile_record *rec);
void pcapfile_close(struct pcapfile_reader *r);
/* The link type of the first interface (-1: none yet). */
int pcapfile_linktype(const struct pcapfile_reader *r);

/* A pcap file (microsecond timestamps, our byte order) written record by record. */
struct pcapfile_writer {
    FILE *f;
};
int pcapfile_create(struct pcapfile_writer *w, const char *path, int linktype, uint32_t snaplen);
int pcapfile_write(struct pcapfile_writer *w, const struct timespec *ts, const uint8_t *data,
                   uint32_t caplen, uint32_t origlen);
int pcapfile_flush(struct pcapfile_writer *w);
int pcapfile_finish(struct pcapfile_writer *w);

#endif
