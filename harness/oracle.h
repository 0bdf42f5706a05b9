/* The harness judges with its own build of the codec and the address helpers (CMake target
 * coapmx_oracle), not with the stack's. A judge that shared the stack's code would share its
 * defects: an option encoded wrongly and decoded back the same wrong way would pass every
 * wire check. A normal build compiles both from the same files; scripts/mutate compiles this
 * one from the unmutated copy, so each mutant of the stack meets an unmutated judge.
 *
 * Force-included (-include) into the harness's objects and the oracle's own. Every function
 * and variable of codec.h and addr.h is renamed here; ctest oracle-names fails if the harness still
 * calls one of the stack's. */
#ifndef COAPMX_HARNESS_ORACLE_H
#define COAPMX_HARNESS_ORACLE_H

/* transports/coap/codec.h */
#define coap_status_str       coapmx_oracle_coap_status_str
#define coap_parse            coapmx_oracle_coap_parse
#define coap_encode           coapmx_oracle_coap_encode
#define coap_msg_init         coapmx_oracle_coap_msg_init
#define coap_msg_set_token    coapmx_oracle_coap_msg_set_token
#define coap_msg_add_option   coapmx_oracle_coap_msg_add_option
#define coap_msg_find_option  coapmx_oracle_coap_msg_find_option
#define coap_option_uint      coapmx_oracle_coap_option_uint
#define coap_uint_encode      coapmx_oracle_coap_uint_encode
#define coap_msg_join_options coapmx_oracle_coap_msg_join_options
#define coap_type_name        coapmx_oracle_coap_type_name

/* transports/addr.h */
#define coapmx_is_ip_literal         coapmx_oracle_is_ip_literal
#define coapmx_resolve_all           coapmx_oracle_resolve_all
#define coapmx_sockaddr_is_multicast coapmx_oracle_sockaddr_is_multicast
#define coapmx_sockaddr_is_v4mapped  coapmx_oracle_sockaddr_is_v4mapped
#define coapmx_sockaddr_to_mapped    coapmx_oracle_sockaddr_to_mapped
#define coapmx_sockaddr_unmap        coapmx_oracle_sockaddr_unmap
#define coapmx_sockaddr_len          coapmx_oracle_sockaddr_len
#define coapmx_sockaddr_port         coapmx_oracle_sockaddr_port
#define coapmx_sockaddr_host         coapmx_oracle_sockaddr_host
#define coapmx_hostinfo_format       coapmx_oracle_hostinfo_format
#define coapmx_uri_base_of           coapmx_oracle_uri_base_of
#define coapmx_hostinfo_of           coapmx_oracle_hostinfo_of
#define coapmx_hostinfo_parse        coapmx_oracle_hostinfo_parse
#define coapmx_all_coap_nodes        coapmx_oracle_all_coap_nodes
#define coapmx_all_coap_nodes_count  coapmx_oracle_all_coap_nodes_count
#define coapmx_sockaddr_from_literal coapmx_oracle_sockaddr_from_literal

#endif
