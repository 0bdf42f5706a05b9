/* The one list of transports. Adding a transport: its file, and one line here. */
#include "transport.h"

extern const struct coapmx_transport_ops coapmx_simple6_ops;
extern const struct coapmx_transport_ops coapmx_udp6_ops;
extern const struct coapmx_transport_ops coapmx_simplesocketserver_ops;

static const struct coapmx_transport_ops *const all_transports[] = {
    &coapmx_simple6_ops,
    &coapmx_udp6_ops,
    &coapmx_simplesocketserver_ops,
};

const struct coapmx_registry coapmx_registry = {
    .transports = all_transports,
    .count = sizeof all_transports / sizeof all_transports[0],
};
