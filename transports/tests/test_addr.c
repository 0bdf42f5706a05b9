/* Unit tests of the shared address helpers and URI parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <string.h>

#include "transports/addr.h"
#include "transports/coap/endpoint.h"
#include "harness/wirefmt.h"

static void literals_are_recognised(void **state)
{
    (void)state;
    assert_true(coapmx_is_ip_literal("127.0.0.1"));
    assert_true(coapmx_is_ip_literal("fd00::5357:5f0a"));
    assert_true(coapmx_is_ip_literal("::ffff:127.0.0.10"));
    assert_true(coapmx_is_ip_literal("ff02::fd%1"));
    assert_false(coapmx_is_ip_literal("dual.test"));
    assert_false(coapmx_is_ip_literal("127.0.0"));
    assert_false(coapmx_is_ip_literal("[fd00::1]"));
    assert_false(coapmx_is_ip_literal(""));
}

static void hostinfo_brackets_v6_and_omits_5683(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(coapmx_hostinfo_format("dual.test", 5683, buf, sizeof buf), 0);
    assert_string_equal(buf, "dual.test");
    assert_int_equal(coapmx_hostinfo_format("dual.test", 5690, buf, sizeof buf), 0);
    assert_string_equal(buf, "dual.test:5690");
    assert_int_equal(coapmx_hostinfo_format("fd00::1", 5683, buf, sizeof buf), 0);
    assert_string_equal(buf, "[fd00::1]");
    assert_int_equal(coapmx_hostinfo_format("fd00::1", 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "[fd00::1]:1");
    assert_int_equal(coapmx_hostinfo_format("a-long-name.test", 5690, buf, 8), -1);
}

static void mapped_addresses_print_as_asked(void **state)
{
    (void)state;
    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(5690)};
    struct sockaddr_in6 mapped;
    inet_pton(AF_INET, "127.0.0.10", &v4.sin_addr);
    coapmx_sockaddr_to_mapped(&v4, &mapped);
    assert_true(coapmx_sockaddr_is_v4mapped((struct sockaddr *)&mapped));
    char buf[64];
    assert_int_equal(coapmx_hostinfo_of((struct sockaddr *)&mapped, true, buf, sizeof buf), 0);
    assert_string_equal(buf, "127.0.0.10:5690");
    assert_int_equal(coapmx_hostinfo_of((struct sockaddr *)&mapped, false, buf, sizeof buf), 0);
    assert_string_equal(buf, "[::ffff:127.0.0.10]:5690");
    struct sockaddr_in back;
    coapmx_sockaddr_unmap(&mapped, &back);
    assert_true(coapmx_sockaddr_same_ip((struct sockaddr *)&back, (struct sockaddr *)&v4));
    assert_int_equal(coapmx_sockaddr_port((struct sockaddr *)&back), 5690);
}

static void multicast_is_recognised_in_every_spelling(void **state)
{
    (void)state;
    static const char *const groups[] = {"224.0.1.187", "ff02::fd", "ff05::fd",
                                         "::ffff:224.0.1.187"};
    static const char *const unicast[] = {"127.0.0.10", "fd00::5357:5f0a", "::ffff:127.0.0.1"};
    struct sockaddr_storage ss;
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        assert_int_equal(coapmx_sockaddr_from_literal(groups[i], 5683, &ss), 0);
        assert_true(coapmx_sockaddr_is_multicast((struct sockaddr *)&ss));
    }
    for (size_t i = 0; i < sizeof unicast / sizeof unicast[0]; i++) {
        assert_int_equal(coapmx_sockaddr_from_literal(unicast[i], 5683, &ss), 0);
        assert_false(coapmx_sockaddr_is_multicast((struct sockaddr *)&ss));
    }
}

static void hostinfo_parses_back(void **state)
{
    (void)state;
    char host[64];
    uint16_t port;
    assert_int_equal(coapmx_hostinfo_parse("[fd00::1]:5690", 5683, host, sizeof host, &port), 0);
    assert_string_equal(host, "fd00::1");
    assert_int_equal(port, 5690);
    assert_int_equal(coapmx_hostinfo_parse("v4.test", 5683, host, sizeof host, &port), 0);
    assert_string_equal(host, "v4.test");
    assert_int_equal(port, 5683);
    assert_int_equal(coapmx_hostinfo_parse("v4.test:", 5683, host, sizeof host, &port), -1);
    assert_int_equal(coapmx_hostinfo_parse("v4.test:65536", 5683, host, sizeof host, &port), -1);
    assert_int_equal(coapmx_hostinfo_parse("[fd00::1", 5683, host, sizeof host, &port), -1);
    assert_int_equal(coapmx_hostinfo_parse("", 5683, host, sizeof host, &port), -1);
}

static void unknown_names_fail_with_the_name(void **state)
{
    (void)state;
    struct sockaddr_storage out[4];
    struct coapmx_error err;
    assert_int_equal(coapmx_resolve_all("no-such-host.invalid", 5683, out, 4, &err), -1);
    assert_int_equal(err.code, COAPMX_ERESOLVE);
    assert_non_null(strstr(err.message, "no-such-host.invalid"));
}

static void a_zone_that_is_no_interface_is_the_fault(void **state)
{
    (void)state;
    struct sockaddr_storage out[4];
    struct coapmx_error err;
    assert_int_equal(coapmx_resolve_all("fe80::1%cmx-none", 5683, out, 4, &err), -1);
    assert_int_equal(err.code, COAPMX_ERESOLVE);
    assert_non_null(strstr(err.message, "no interface named 'cmx-none'"));
    /* A zone that is an interface makes the literal its own answer. */
    assert_int_equal(coapmx_resolve_all("fe80::1%lo", 5683, out, 4, &err), 1);
    assert_int_equal(((struct sockaddr_in6 *)&out[0])->sin6_scope_id, if_nametoindex("lo"));
}

static void uris_parse_into_parts(void **state)
{
    (void)state;
    struct coapmx_uri u;
    struct coapmx_error err;
    assert_int_equal(coapmx_uri_parse("coap://Dual.TEST:5690/a/b%20c?x=1&y", &u, &err), 0);
    assert_string_equal(u.host, "dual.test");
    assert_int_equal(u.port, 5690);
    assert_false(u.host_is_literal);
    assert_string_equal(u.path, "a/b%20c");
    assert_string_equal(u.query, "x=1&y");
    assert_int_equal(coapmx_uri_parse("coap://[FD00::1]/", &u, &err), 0);
    assert_string_equal(u.host, "fd00::1");
    assert_int_equal(u.port, 5683);
    assert_true(u.host_is_literal);
    assert_string_equal(u.path, "");
    assert_int_equal(coapmx_uri_parse("coap://[FE80::1%25Lo]:5690/", &u, &err), 0);
    assert_string_equal(u.host, "fe80::1%Lo"); /* RFC 6874: %25 is the zone separator */
    assert_true(u.host_is_literal);
    /* RFC 3986 §3.2.3: an empty port (port = *DIGIT) is the scheme's default. */
    assert_int_equal(coapmx_uri_parse("coap://host:/a", &u, &err), 0);
    assert_int_equal(u.port, 5683);
    assert_int_equal(coapmx_uri_parse("coap://[::1]:/", &u, &err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 5683);
}

static void zones_are_named(void **state)
{
    (void)state;
    struct sockaddr_storage sa;
    char host[64];
    assert_int_equal(coapmx_sockaddr_from_literal("fe80::1%lo", 5683, &sa), 0);
    assert_int_equal(((struct sockaddr_in6 *)&sa)->sin6_scope_id, if_nametoindex("lo"));
    assert_int_equal(coapmx_sockaddr_host((struct sockaddr *)&sa, true, host, sizeof host), 0);
    assert_string_equal(host, "fe80::1%lo");
    struct coapmx_remote r = {0};
    char base[80];
    assert_int_equal(
        coapmx_hostinfo_of((struct sockaddr *)&sa, true, r.hostinfo, sizeof r.hostinfo), 0);
    assert_int_equal(coapmx_remote_uri_base(&r, base, sizeof base),
                     strlen("coap://[fe80::1%25lo]"));
    assert_string_equal(base, "coap://[fe80::1%25lo]");
    ((struct sockaddr_in6 *)&sa)->sin6_scope_id = 4000000; /* no such interface: its number */
    assert_int_equal(coapmx_sockaddr_host((struct sockaddr *)&sa, true, host, sizeof host), 0);
    assert_string_equal(host, "fe80::1%4000000");
}

static void bad_uris_are_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "http://x/",          "coap://",   "coap:///path",         "coap://[::1/",
        "coap://host:99999/", "coap://:/", "coap://[fe80::1%lo]/", "coap://[fe80::1%25]/",
        "coap://h/%\xc3\xa9" /* bytes above 0x7f after '%' */};
    struct coapmx_uri u;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct coapmx_error err = {0};
        assert_int_equal(coapmx_uri_parse(bad[i], &u, &err), -1);
        assert_int_equal(err.code, COAPMX_EINVAL);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(literals_are_recognised),
        cmocka_unit_test(zones_are_named),
        cmocka_unit_test(hostinfo_brackets_v6_and_omits_5683),
        cmocka_unit_test(mapped_addresses_print_as_asked),
        cmocka_unit_test(multicast_is_recognised_in_every_spelling),
        cmocka_unit_test(hostinfo_parses_back),
        cmocka_unit_test(unknown_names_fail_with_the_name),
        cmocka_unit_test(a_zone_that_is_no_interface_is_the_fault),
        cmocka_unit_test(uris_parse_into_parts),
        cmocka_unit_test(bad_uris_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
