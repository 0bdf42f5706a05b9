/* Fuzz target: any bytes as a capture file, read by `coapmx pcap` as text (with a user port), as
 * --json --absolute, and as an --svg chart. Properties: no crash, leak or hang (libFuzzer's);
 * each reading ends with one of its three results, and all three the same way; every text or
 * JSON line ends in a newline; a chart is one <svg> element. `coapmx check` reads the same bytes
 * and ends in one of its statuses. */
#include <stdbool.h>
#include <string.h>

#include "harness/check.h"
#include "harness/inspect.h"
#include "transports/tests/fuzz.h"

/* Output goes to a memory stream, so that its lines can be checked. */
static char *output;
static size_t output_len;

enum reading { AS_TEXT, AS_JSON, AS_SVG };

static enum inspect_result read_as(const uint8_t *data, size_t size, enum reading as)
{
    FILE *in = fmemopen((void *)data, size, "rb");
    FUZZ_CHECK(in != NULL || size == 0, "fmemopen failed");
    if (in == NULL)
        return INSPECT_UNUSABLE;
    FILE *out = open_memstream(&output, &output_len);
    FILE *err = fopen("/dev/null", "w");
    FUZZ_CHECK(out != NULL && err != NULL, "cannot open the output streams");
    struct inspect_options opt = {.json = as == AS_JSON,
                                  .absolute = as == AS_JSON,
                                  .svg = as == AS_SVG,
                                  .every_port = as == AS_SVG,
                                  .port_count = 1};
    opt.ports[0] = 61616;
    enum inspect_result r = inspect_stream(in, "fuzz", &opt, out, err);
    fclose(in);
    fclose(err);
    fclose(out);
    FUZZ_CHECK(r == INSPECT_COMPLETE || r == INSPECT_STOPPED || r == INSPECT_UNUSABLE, "result %d",
               (int)r);
    FUZZ_CHECK(output_len == 0 || output[output_len - 1] == '\n', "a line without its newline");
    if (as == AS_SVG && r != INSPECT_UNUSABLE)
        FUZZ_CHECK(strncmp(output, "<svg ", 5) == 0 && strstr(output, "</svg>\n") != NULL &&
                       strstr(output, "</svg>\n") + 7 == output + output_len,
                   "a chart that is not one <svg> element");
    FUZZ_CHECK(r == INSPECT_UNUSABLE || output_len > 0, "read, but not even a summary printed");
    FUZZ_CHECK(strlen(output) == output_len, "a NUL byte in the output");
    free(output);
    output = NULL;
    return r;
}

/* `coapmx check` on the same bytes: it ends in one of its three statuses, and when the reader
 * found no capture neither does it. */
static void check_as(const uint8_t *data, size_t size, enum inspect_result read)
{
    FILE *in = fmemopen((void *)data, size, "rb");
    FILE *out = open_memstream(&output, &output_len);
    FILE *err = fopen("/dev/null", "w");
    FUZZ_CHECK(in != NULL && out != NULL && err != NULL, "cannot open the streams");
    struct check_options opt = {.every_port = true};
    int rc = check_stream(in, "fuzz", &opt, out, err);
    fclose(in);
    fclose(err);
    fclose(out);
    FUZZ_CHECK(rc >= 0 && rc <= 2, "check returned %d", rc);
    FUZZ_CHECK((rc == 2) == (read == INSPECT_UNUSABLE),
               "check and the reader disagree on whether this is a capture (check %d, reader %d)",
               rc, (int)read);
    free(output);
    output = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0; /* fmemopen refuses an empty buffer; an empty file is tested in ctest */
    enum inspect_result text = read_as(data, size, AS_TEXT);
    enum inspect_result json = read_as(data, size, AS_JSON);
    enum inspect_result svg = read_as(data, size, AS_SVG);
    FUZZ_CHECK(text == json && json == svg, "readings ended %d (text), %d (JSON), %d (SVG)",
               (int)text, (int)json, (int)svg);
    check_as(data, size, text);
    return 0;
}
