/* What the two kinds of IUT (iut_inproc.c, iut_driver.c) share behind iut.h. */
#ifndef COAPMX_IUT_INTERNAL_H
#define COAPMX_IUT_INTERNAL_H

#include "iut.h"

struct iut_kind {
    int (*start)(struct iut *iut, struct coapmx_error *err);
    void (*stop)(struct iut *iut);
    int (*open)(struct iut_endpoint *ep, const struct coapmx_transport_config *config,
                struct coapmx_error *err);
    void (*close)(struct iut_endpoint *ep);
    int64_t (*request)(struct iut_endpoint *ep, const struct coapmx_request *req,
                       coapmx_response_cb cb, void *arg, struct coapmx_error *err);
    void (*cancel)(struct iut_endpoint *ep, int64_t id);
    size_t (*pending)(const struct iut_endpoint *ep);
    void (*shutdown)(struct iut_endpoint *ep);
    size_t (*sockets)(const struct iut_endpoint *ep, struct iut_socket *out, size_t max);
    int (*advance_clock)(struct iut *iut, uint64_t ms, struct coapmx_error *err); /* drivers */
};

#define IUT_MAX_ENDPOINTS 8

struct iut_endpoint {
    struct iut *iut;
    bool shut_down;
    char reply_text[48];
    struct iut_served served[IUT_MAX_SERVED];
    size_t served_count; /* all of them, also past IUT_MAX_SERVED */
    /* our transports */
    struct coapmx_endpoint *stack;
    /* a driver's */
    int id;
};

struct iut {
    const struct iut_info *info;
    const struct iut_kind *kind;
    struct iut_setup setup;
    struct coapmx_loop *loop;
    struct coapmx_protocol protocol; /* in force */
    uint64_t seed;
    unsigned endpoints_opened;
    struct iut_endpoint *endpoints[IUT_MAX_ENDPOINTS];
    size_t endpoint_count;
    char trouble[IUT_TROUBLE_MAX];
    void *driver; /* iut_driver.c's state */
};

extern const struct iut_kind iut_inproc_kind;
extern const struct iut_kind iut_driver_kind;

/* Records a request an endpoint served (both kinds). */
void iut_note_served(struct iut_endpoint *ep, const struct iut_served *served);
/* The standard reply (iut.h) to the request just noted; its payload lives in ep. */
void iut_standard_reply(struct iut_endpoint *ep, uint8_t method, size_t payload_len,
                        struct coapmx_reply *reply);

#endif
