/* Our transports as IUTs: the transport and the shared stack, in the cell's own process and on
 * the cell's loop. */
#include "iut_internal.h"

#include <stdio.h>
#include <string.h>

static int inproc_start(struct iut *iut, struct coapmx_error *err)
{
    (void)iut;
    (void)err;
    return 0;
}

static void inproc_stop(struct iut *iut)
{
    (void)iut;
}

/* The standard reply (iut.h), recorded as served. */
static void answer(void *arg, const struct coapmx_message *req, struct coapmx_reply *reply)
{
    struct iut_endpoint *ep = arg;
    struct iut_served s = {.method = req->msg.code,
                           .type = req->msg.type,
                           .payload_len = req->msg.payload_len,
                           .multicast_locally = req->remote.is_multicast_locally};
    coap_msg_join_options(&req->msg, COAP_OPT_URI_PATH, '/', s.path, sizeof s.path);
    snprintf(s.peer, sizeof s.peer, "%s", req->remote.hostinfo);
    snprintf(s.local, sizeof s.local, "%s", req->remote.hostinfo_local);
    iut_note_served(ep, &s);
    iut_standard_reply(ep, req->msg.code, req->msg.payload_len, reply);
}

static int inproc_open(struct iut_endpoint *ep, const struct coapmx_transport_config *config,
                       struct coapmx_error *err)
{
    struct iut *iut = ep->iut;
    struct coapmx_transport *t = coapmx_transport_open(iut->info->ops, iut->loop, config, err);
    if (t == NULL)
        return -1;
    struct coapmx_endpoint_config ec = {.seed = iut->seed + iut->endpoints_opened,
                                        .protocol = iut->protocol,
                                        .handler = answer,
                                        .handler_arg = ep};
    ep->stack = coapmx_endpoint_new(t, &ec, err);
    if (ep->stack == NULL) {
        coapmx_transport_close(t);
        return -1;
    }
    return 0;
}

static void inproc_close(struct iut_endpoint *ep)
{
    struct coapmx_transport *t = coapmx_endpoint_transport(ep->stack);
    coapmx_endpoint_free(ep->stack);
    coapmx_transport_close(t);
}

static int64_t inproc_request(struct iut_endpoint *ep, const struct coapmx_request *req,
                              coapmx_response_cb cb, void *arg, struct coapmx_error *err)
{
    return coapmx_request_start(ep->stack, req, cb, arg, err);
}

static void inproc_cancel(struct iut_endpoint *ep, int64_t id)
{
    coapmx_request_cancel(ep->stack, id);
}

static size_t inproc_pending(const struct iut_endpoint *ep)
{
    return coapmx_endpoint_pending(ep->stack);
}

static void inproc_shutdown(struct iut_endpoint *ep)
{
    coapmx_endpoint_shutdown(ep->stack);
}

static size_t inproc_sockets(const struct iut_endpoint *ep, struct iut_socket *out, size_t max)
{
    int fds[IUT_MAX_SOCKETS];
    size_t n = coapmx_transport_sockets(coapmx_endpoint_transport(ep->stack), fds, IUT_MAX_SOCKETS);
    for (size_t i = 0; i < n && i < max && i < IUT_MAX_SOCKETS; i++) {
        socklen_t len = sizeof out[i].local, peer_len = sizeof out[i].peer;
        memset(&out[i], 0, sizeof out[i]);
        if (getsockname(fds[i], (struct sockaddr *)&out[i].local, &len) != 0)
            out[i].local.ss_family = 0; /* LCOV_EXCL_LINE: KernelRefusal */
        if (getpeername(fds[i], (struct sockaddr *)&out[i].peer, &peer_len) != 0)
            out[i].peer.ss_family = 0;
    }
    return n;
}

const struct iut_kind iut_inproc_kind = {
    .start = inproc_start,
    .stop = inproc_stop,
    .open = inproc_open,
    .close = inproc_close,
    .request = inproc_request,
    .cancel = inproc_cancel,
    .pending = inproc_pending,
    .shutdown = inproc_shutdown,
    .sockets = inproc_sockets,
};
