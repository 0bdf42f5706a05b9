/* Fuzz target: any bytes as a capture file, read by `coapmx pcap` (text and --json, with a user
 * port) and by the cells' loader. Properties: no crash, leak or hang (libFuzzer's); the reader
 * ends with one of its three results; the text and JSON readings agree on how it ended; every
 * line written ends in a newline. */
#include <stdbool.h>
#include <string.h>

#include "harness/inspect.h"
#include "transports/tests/fuzz.h"

/* Output goes to a memory stream, so that its lines can be checked. */
static char *output;
static size_t output_len;

static enum inspect_result read_as(const uint8_t *data, size_t size, bool json)
{
    FILE *in = fmemopen((void *)data, size, "rb");
    FUZZ_CHECK(in != NULL || size == 0, "fmemopen failed");
    if (in == NULL)
        return INSPECT_UNUSABLE;
    FILE *out = open_memstream(&output, &output_len);
    FILE *err = fopen("/dev/null", "w");
    FUZZ_CHECK(out != NULL && err != NULL, "cannot open the output streams");
    struct inspect_options opt = {.json = json, .absolute = json, .port_count = 1};
    opt.ports[0] = 61616;
    enum inspect_result r = inspect_stream(in, "fuzz", &opt, out, err);
    fclose(in);
    fclose(err);
    fclose(out);
    FUZZ_CHECK(r == INSPECT_COMPLETE || r == INSPECT_STOPPED || r == INSPECT_UNUSABLE, "result %d",
               (int)r);
    FUZZ_CHECK(output_len == 0 || output[output_len - 1] == '\n', "a line without its newline");
    FUZZ_CHECK(r == INSPECT_UNUSABLE || output_len > 0, "read, but not even a summary printed");
    FUZZ_CHECK(strlen(output) == output_len, "a NUL byte in the output");
    free(output);
    output = NULL;
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0; /* fmemopen refuses an empty buffer; an empty file is tested in ctest */
    enum inspect_result text = read_as(data, size, false);
    enum inspect_result json = read_as(data, size, true);
    FUZZ_CHECK(text == json, "text reading ended %d, JSON reading %d", (int)text, (int)json);
    return 0;
}
