/* JSON for the driver protocol: one object per line, parsed into a small tree with hard limits
 * (a driver may send anything), and strings escaped for writing. Parsing never crashes or
 * loops on bad input: it fails with a message saying what and where. */
#ifndef COAPMX_JSON_H
#define COAPMX_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 8
#define JSON_MAX_NODES 512

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
    enum json_type type;
    double number;
    bool boolean;
    char *string;    /* JSON_STRING: decoded, NUL-terminated (may hold NUL bytes before it) */
    size_t length;   /* of string */
    const char *key; /* when a member of an object */
    struct json *child, *next; /* arrays and objects: first element; then the next sibling */
};

struct json_doc {
    struct json nodes[JSON_MAX_NODES];
    size_t used;
    char *text; /* the decoded strings live in a copy of the line */
};

/* Parses one JSON value (the whole of text, surrounding space allowed). Returns the root, or NULL
 * with err saying why. The tree lives in doc until json_free. */
const struct json *json_parse(struct json_doc *doc, const char *text, size_t len, char *err,
                              size_t err_cap);
void json_free(struct json_doc *doc);

/* A member of an object (NULL if absent, or v is no object). */
const struct json *json_get(const struct json *v, const char *key);
/* Typed member access: the default when absent or of another type. */
const char *json_str(const struct json *v, const char *key, const char *dflt);
double json_num(const struct json *v, const char *key, double dflt);
bool json_bool(const struct json *v, const char *key, bool dflt);

/* Writes text as a JSON string literal, quotes included. Bytes that are not valid UTF-8 are
 * written as \u00XX of their value, so that the line is valid JSON and valid UTF-8 whatever the
 * text holds. */
void json_write_string(FILE *f, const char *text, size_t len);
/* The same, with '<', '>' and '&' escaped too: safe inside an HTML <script> element. */
void json_write_html_string(FILE *f, const char *text, size_t len);

#endif
