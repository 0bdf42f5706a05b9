/* What the fuzz targets share: libFuzzer's entry points and a check that aborts, so libFuzzer
 * (or the replay driver under a plain build) reports the input that broke a property. */
#ifndef COAPMX_FUZZ_H
#define COAPMX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define COAPMX_FUZZ_MAX_DATAGRAM 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional: a target without set-up leaves it undefined. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz check failed (%s:%d): ", __FILE__, __LINE__);                    \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
