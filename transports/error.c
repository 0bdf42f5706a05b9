#include "error.h"

#include <stdio.h>

static const char *const err_names[COAPMX_ERR_COUNT] = {
    [COAPMX_OK] = "OK",
    [COAPMX_EINVAL] = "EINVAL",
    [COAPMX_ERESOLVE] = "ERESOLVE",
    [COAPMX_EMULTICAST] = "EMULTICAST",
    [COAPMX_ECONMULTICAST] = "ECONMULTICAST",
    [COAPMX_ECLIENTONLY] = "ECLIENTONLY",
    [COAPMX_ENETWORK] = "ENETWORK",
    [COAPMX_ETIMEOUT] = "ETIMEOUT",
    [COAPMX_ESHUTDOWN] = "ESHUTDOWN",
    [COAPMX_ETOOMANYPEERS] = "ETOOMANYPEERS",
    [COAPMX_ETOOBIG] = "ETOOBIG",
    [COAPMX_ENOMEM] = "ENOMEM",
    [COAPMX_EUNSUPPORTED] = "EUNSUPPORTED",
    [COAPMX_ERESET] = "ERESET",
    [COAPMX_EFAMILY] = "EFAMILY",
};

const char *coapmx_err_name(enum coapmx_err code)
{
    if ((unsigned)code >= COAPMX_ERR_COUNT)
        return "E?";
    return err_names[code];
}

int coapmx_fail(struct coapmx_error *err, enum coapmx_err code, int sys_errno, const char *fmt, ...)
{
    if (err == NULL)
        return -1;
    err->code = code;
    err->sys_errno = sys_errno;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}
