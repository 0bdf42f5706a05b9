/* Error codes shared by the stack and the harness: every failure has a specific code and a
 * message meant for a person reading a test report. */
#ifndef COAPMX_ERROR_H
#define COAPMX_ERROR_H

#include <stdarg.h>

enum coapmx_err {
    COAPMX_OK = 0,
    COAPMX_EINVAL,        /* malformed argument (bad URI, bad option) */
    COAPMX_ERESOLVE,      /* host name could not be resolved */
    COAPMX_EMULTICAST,    /* transport does not support multicast destinations */
    COAPMX_ECONMULTICAST, /* confirmable request to a multicast group */
    COAPMX_ECLIENTONLY,   /* transport cannot act as a server */
    COAPMX_ENETWORK,      /* the network refused or failed (errno in sys_errno) */
    COAPMX_ETIMEOUT,      /* no response within the allowed time */
    COAPMX_ESHUTDOWN,     /* transport or endpoint is shut down */
    COAPMX_ETOOMANYPEERS, /* every socket of the pool is busy */
    COAPMX_ETOOBIG,       /* message does not fit */
    COAPMX_ENOMEM,
    COAPMX_EUNSUPPORTED, /* operation the transport does not offer */
    COAPMX_ERESET,       /* the peer answered with a Reset message */
    COAPMX_EFAMILY,      /* the destination has no address in the socket's family */
    COAPMX_ERR_COUNT
};

#define COAPMX_ERROR_MESSAGE_MAX 256

struct coapmx_error {
    enum coapmx_err code;
    int sys_errno; /* 0 unless the cause was a system call */
    char message[COAPMX_ERROR_MESSAGE_MAX];
};

/* Short stable name of a code, e.g. "EMULTICAST"; used in reports and assertions. */
const char *coapmx_err_name(enum coapmx_err code);

/* Fills err (if not NULL) and returns -1, so callers can `return coapmx_fail(...)`. */
int coapmx_fail(struct coapmx_error *err, enum coapmx_err code, int sys_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
