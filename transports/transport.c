/* The parts of the transport interface that are the same for every transport. */
#include "transport.h"

#include "addr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t coapmx_remote_uri_base(const struct coapmx_remote *remote, char *buf, size_t cap)
{
    return coapmx_uri_base_of(remote->hostinfo, buf, cap);
}

bool coapmx_remote_same(const struct coapmx_remote *a, const struct coapmx_remote *b)
{
    return a->transport == b->transport && strcmp(a->key, b->key) == 0;
}

struct coapmx_transport *coapmx_transport_open(const struct coapmx_transport_ops *ops,
                                               struct coapmx_loop *loop,
                                               const struct coapmx_transport_config *config,
                                               struct coapmx_error *err)
{
    if (config->role == COAPMX_ROLE_SERVER && ops->profile->roles == COAPMX_ROLES_CLIENT_ONLY) {
        coapmx_fail(err, COAPMX_ECLIENTONLY, 0,
                    "transport %s is client-only: it cannot be opened as a server", ops->name);
        return NULL;
    }
    if (config->rx_buffer_size > COAPMX_RX_BUFFER_MAX) {
        coapmx_fail(err, COAPMX_EINVAL, 0, "receive buffer of %zu bytes: at most %d",
                    config->rx_buffer_size, COAPMX_RX_BUFFER_MAX);
        return NULL;
    }
    struct coapmx_transport *t = calloc(1, sizeof *t);
    if (t == NULL) {
        /* LCOV_EXCL_START: OutOfMemory */
        coapmx_fail(err, COAPMX_ENOMEM, 0, "out of memory opening transport %s", ops->name);
        return NULL;
        /* LCOV_EXCL_STOP */
    }
    t->ops = ops;
    t->loop = loop;
    t->config = *config;
    if (t->config.max_sockets == 0)
        t->config.max_sockets = COAPMX_MAX_SOCKETS_DEFAULT;
    if (ops->open(t, err) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

void coapmx_transport_shutdown(struct coapmx_transport *t)
{
    if (t->shut_down)
        return;
    t->ops->shutdown(t);
    t->shut_down = true;
}

void coapmx_transport_close(struct coapmx_transport *t)
{
    if (t == NULL)
        return;
    coapmx_transport_shutdown(t);
    free(t);
}

static int refuse_after_shutdown(const struct coapmx_transport *t, struct coapmx_error *err)
{
    return coapmx_fail(err, COAPMX_ESHUTDOWN, 0, "transport %s is shut down", t->ops->name);
}

int coapmx_transport_resolve(struct coapmx_transport *t, const char *host, uint16_t port,
                             struct coapmx_remote *out, struct coapmx_error *err)
{
    if (t->shut_down)
        return refuse_after_shutdown(t, err);
    memset(out, 0, sizeof *out);
    out->transport = t;
    return t->ops->resolve(t, host, port, out, err);
}

int coapmx_transport_send(struct coapmx_transport *t, const struct coapmx_remote *to,
                          const uint8_t *buf, size_t len, struct coapmx_error *err)
{
    if (t->shut_down)
        return refuse_after_shutdown(t, err);
    if (t->ops->send(t, to, buf, len, err) != 0) {
        t->stats.send_errors++;
        return -1;
    }
    t->stats.datagrams_sent++;
    return 0;
}

size_t coapmx_transport_rx_buffer_size(const struct coapmx_transport *t)
{
    return t->config.rx_buffer_size ? t->config.rx_buffer_size : COAPMX_RX_BUFFER_DEFAULT;
}

const struct coapmx_transport_ops *coapmx_registry_find(const struct coapmx_registry *reg,
                                                        const char *name)
{
    for (size_t i = 0; i < reg->count; i++)
        if (strcmp(reg->transports[i]->name, name) == 0)
            return reg->transports[i];
    return NULL;
}

size_t coapmx_transport_sockets(struct coapmx_transport *t, int *fds, size_t max)
{
    return t->shut_down ? 0 : t->ops->sockets(t, fds, max);
}
