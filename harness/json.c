#include "json.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    struct json_doc *doc;
    const char *p, *end, *start;
    char *out; /* where decoded string bytes go, inside doc->text */
    char *err;
    size_t err_cap;
    bool failed;
};

static struct json *fail(struct parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static struct json *fail(struct parser *ps, const char *fmt, ...)
{
    if (ps->failed)
        return NULL;
    ps->failed = true;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->err_cap, "%s at byte %td", what, ps->p - ps->start);
    return NULL;
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
        ps->p++;
}

static struct json *node(struct parser *ps, enum json_type type)
{
    if (ps->doc->used == JSON_MAX_NODES)
        return fail(ps, "more than %d values", JSON_MAX_NODES);
    struct json *n = &ps->doc->nodes[ps->doc->used++];
    memset(n, 0, sizeof *n);
    n->type = type;
    return n;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        int c = p[i], d = isdigit(c)                           ? c - '0'
                          : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10
                                                               : -1;
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static void put_utf8(struct parser *ps, uint32_t cp)
{
    if (cp < 0x80) {
        *ps->out++ = (char)cp;
    } else if (cp < 0x800) {
        *ps->out++ = (char)(0xc0 | cp >> 6);
        *ps->out++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *ps->out++ = (char)(0xe0 | cp >> 12);
        *ps->out++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *ps->out++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *ps->out++ = (char)(0xf0 | cp >> 18);
        *ps->out++ = (char)(0x80 | (cp >> 12 & 0x3f));
        *ps->out++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *ps->out++ = (char)(0x80 | (cp & 0x3f));
    }
}

/* Decoded bytes never outnumber the encoded ones, so they fit where the copy of the line is. */
static struct json *string(struct parser *ps)
{
    struct json *n = node(ps, JSON_STRING);
    if (n == NULL)
        return NULL;
    ps->p++; /* the quote */
    n->string = ps->out;
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20)
            return fail(ps, "a control character inside a string");
        if (c != '\\') {
            *ps->out++ = (char)c;
            ps->p++;
            continue;
        }
        if (ps->end - ps->p < 2)
            return fail(ps, "a string cut off after a backslash");
        char e = ps->p[1];
        ps->p += 2;
        const char *plain = strchr("\"\\/bfnrt", e);
        if (plain != NULL && e != '\0') {
            static const char decoded[] = "\"\\/\b\f\n\r\t";
            *ps->out++ = decoded[plain - "\"\\/bfnrt"];
            continue;
        }
        if (e != 'u' || ps->end - ps->p < 4 || hex4(ps->p) < 0)
            return fail(ps, "a bad escape in a string");
        uint32_t cp = (uint32_t)hex4(ps->p);
        ps->p += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
            ps->p[1] == 'u' && hex4(ps->p + 2) >= 0xdc00 && hex4(ps->p + 2) <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)hex4(ps->p + 2) - 0xdc00);
            ps->p += 6;
        }
        put_utf8(ps, cp);
    }
    if (ps->p == ps->end)
        return fail(ps, "an unterminated string");
    ps->p++;
    n->length = (size_t)(ps->out - n->string);
    *ps->out++ = '\0';
    return n;
}

static struct json *value(struct parser *ps, int depth);

static struct json *container(struct parser *ps, int depth, bool object)
{
    struct json *n = node(ps, object ? JSON_OBJECT : JSON_ARRAY), **tail = n ? &n->child : NULL;
    if (n == NULL)
        return NULL;
    if (depth >= JSON_MAX_DEPTH)
        return fail(ps, "nesting deeper than %d", JSON_MAX_DEPTH);
    ps->p++;
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
        ps->p++;
        return n;
    }
    for (;;) {
        const char *key = NULL;
        skip_space(ps);
        if (object) {
            if (ps->p == ps->end || *ps->p != '"')
                return fail(ps, "an object member without a quoted name");
            struct json *k = string(ps);
            if (k == NULL)
                return NULL;
            key = k->string;
            ps->doc->used--; /* the key is no value of its own */
            skip_space(ps);
            if (ps->p == ps->end || *ps->p != ':')
                return fail(ps, "no ':' after an object member's name");
            ps->p++;
        }
        struct json *v = value(ps, depth + 1);
        if (v == NULL)
            return NULL;
        v->key = key;
        *tail = v;
        tail = &v->next;
        skip_space(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == (object ? '}' : ']')) {
            ps->p++;
            return n;
        }
        return fail(ps, "expected ',' or '%c'", object ? '}' : ']');
    }
}

static struct json *literal(struct parser *ps, const char *word, enum json_type type, bool b)
{
    size_t len = strlen(word);
    if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
        return fail(ps, "an unknown word");
    ps->p += len;
    struct json *n = node(ps, type);
    if (n != NULL)
        n->boolean = b;
    return n;
}

static struct json *number(struct parser *ps)
{
    char buf[64];
    size_t len = 0;
    while (ps->p + len < ps->end && len < sizeof buf - 1 && strchr("+-0123456789.eE", ps->p[len]))
        len++;
    memcpy(buf, ps->p, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (len == 0 || (size_t)(end - buf) != len)
        return fail(ps, "a bad number");
    ps->p += len;
    struct json *n = node(ps, JSON_NUMBER);
    if (n != NULL)
        n->number = v;
    return n;
}

static struct json *value(struct parser *ps, int depth)
{
    skip_space(ps);
    if (ps->p == ps->end)
        return fail(ps, "nothing where a value should be");
    switch (*ps->p) {
    case '{':
        return container(ps, depth, true);
    case '[':
        return container(ps, depth, false);
    case '"':
        return string(ps);
    case 't':
        return literal(ps, "true", JSON_BOOL, true);
    case 'f':
        return literal(ps, "false", JSON_BOOL, false);
    case 'n':
        return literal(ps, "null", JSON_NULL, false);
    default:
        return number(ps);
    }
}

const struct json *json_parse(struct json_doc *doc, const char *text, size_t len, char *err,
                              size_t err_cap)
{
    doc->used = 0;
    doc->text = malloc(len + 1);
    if (doc->text == NULL) {
        snprintf(err, err_cap, "out of memory");
        return NULL;
    }
    struct parser ps = {.doc = doc,
                        .p = text,
                        .end = text + len,
                        .start = text,
                        .out = doc->text,
                        .err = err,
                        .err_cap = err_cap};
    struct json *root = value(&ps, 0);
    skip_space(&ps);
    if (root != NULL && ps.p != ps.end)
        root = fail(&ps, "more after the value");
    return root;
}

void json_free(struct json_doc *doc)
{
    free(doc->text);
    doc->text = NULL;
    doc->used = 0;
}

const struct json *json_get(const struct json *v, const char *key)
{
    if (v == NULL || v->type != JSON_OBJECT)
        return NULL;
    for (const struct json *m = v->child; m != NULL; m = m->next)
        if (strcmp(m->key, key) == 0)
            return m;
    return NULL;
}

const char *json_str(const struct json *v, const char *key, const char *dflt)
{
    const struct json *m = json_get(v, key);
    return m != NULL && m->type == JSON_STRING ? m->string : dflt;
}

double json_num(const struct json *v, const char *key, double dflt)
{
    const struct json *m = json_get(v, key);
    return m != NULL && m->type == JSON_NUMBER ? m->number : dflt;
}

bool json_bool(const struct json *v, const char *key, bool dflt)
{
    const struct json *m = json_get(v, key);
    return m != NULL && m->type == JSON_BOOL ? m->boolean : dflt;
}

/* Length of a valid UTF-8 sequence at s (of at most left bytes), 0 if there is none. */
static size_t utf8_length(const unsigned char *s, size_t left)
{
    size_t len = s[0] < 0x80                    ? 1
                 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                 : (s[0] & 0xf0) == 0xe0        ? 3
                 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                : 0;
    if (len == 0 || len > left)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (len == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
        return 0; /* overlong, or a surrogate */
    if (len == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
        return 0;
    return len;
}

static void write_string(FILE *f, const char *text, size_t len, bool for_html)
{
    const unsigned char *s = (const unsigned char *)text;
    fputc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        size_t n = utf8_length(s + i, len - i);
        if (c == '"' || c == '\\') {
            fprintf(f, "\\%c", c);
        } else if (for_html && (c == '<' || c == '>' || c == '&')) {
            fprintf(f, "\\u%04x", c);
        } else if (c >= 0x20 && c != 0x7f && n == 1) {
            fputc(c, f);
        } else if (n > 1) {
            fwrite(s + i, 1, n, f);
            i += n;
            continue;
        } else {
            fprintf(f, "\\u%04x", c);
        }
        i++;
    }
    fputc('"', f);
}

void json_write_string(FILE *f, const char *text, size_t len)
{
    write_string(f, text, len, false);
}

void json_write_html_string(FILE *f, const char *text, size_t len)
{
    write_string(f, text, len, true);
}
