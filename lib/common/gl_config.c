/*
 * gl_config.c - table-driven INI loading over libinih.
 */
#include "gl_config.h"

#include <errno.h>
#include <ini.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gl_err.h"

/* Keys seen, to reject duplicates; tables are small. */
#define GL_CFG_MAX_ITEMS 128

struct cfg_ctx {
    const char *name;
    const struct gl_cfg_item *items;
    size_t nitems;
    unsigned char seen[GL_CFG_MAX_ITEMS];
    char *err;
    int failed;
    int line;      /* lines read so far: the line the handler is on */
    int fail_line; /* the line of the first refused key */
    char why[160];
    /* source: a FILE or a string */
    FILE *fp;
    const char *text;
};

/* libinih reader counting lines, since Debian's libinih does not pass them. */
static char *cfg_reader(char *str, int num, void *stream)
{
    struct cfg_ctx *c = stream;

    if (c->fp != NULL) {
        if (fgets(str, num, c->fp) == NULL) {
            return NULL;
        }
    } else {
        const char *t = c->text;
        int i = 0;
        if (*t == '\0' || num < 2) {
            return NULL;
        }
        while (i < num - 1 && t[i] != '\0') {
            str[i] = t[i];
            if (t[i++] == '\n') {
                break;
            }
        }
        str[i] = '\0';
        c->text = t + i;
    }
    c->line++;
    return str;
}

static int cfg_fail(struct cfg_ctx *c, const char *section, const char *key,
                    const char *why)
{
    if (!c->failed) {
        snprintf(c->why, sizeof c->why, "[%.32s] %.32s: %.80s", section, key, why);
        c->failed = 1;
        c->fail_line = c->line;
    }
    return 0; /* libinih reports this line as the first error */
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int cfg_handler(void *user, const char *section, const char *key,
                       const char *value)
{
    struct cfg_ctx *c = user;
    char why[128];

    for (size_t i = 0; i < c->nitems; i++) {
        const struct gl_cfg_item *it = &c->items[i];
        if (strcmp(it->section, section) != 0 || strcmp(it->name, key) != 0) {
            continue;
        }
        if (c->seen[i]) {
            return cfg_fail(c, section, key, "given twice");
        }
        c->seen[i] = 1;
        switch (it->type) {
        case GL_CFG_STR: {
            size_t n = strlen(value);
            if (n + 1 > it->size) {
                snprintf(why, sizeof why, "longer than %zu characters",
                         it->size - 1);
                return cfg_fail(c, section, key, why);
            }
            memcpy(it->dst, value, n + 1);
            return 1;
        }
        case GL_CFG_INT: {
            char *end;
            long long v;
            errno = 0;
            v = strtoll(value, &end, 10);
            if (errno != 0 || end == value || *end != '\0' || v < it->min ||
                v > it->max) {
                snprintf(why, sizeof why, "'%s' is not an integer in [%lld, %lld]",
                         value, it->min, it->max);
                return cfg_fail(c, section, key, why);
            }
            *(long long *)it->dst = v;
            return 1;
        }
        case GL_CFG_BOOL:
            if (parse_bool(value, (int *)it->dst) != 0) {
                snprintf(why, sizeof why, "'%s' is not yes or no", value);
                return cfg_fail(c, section, key, why);
            }
            return 1;
        }
    }
    return cfg_fail(c, section, key, "unknown key");
}

static int cfg_finish(struct cfg_ctx *c, int rc)
{
    if (c->failed && (rc <= 0 || rc >= c->fail_line)) {
        snprintf(c->err, GL_CFG_ERR_MAX, "%s:%d: %s", c->name, c->fail_line,
                 c->why);
        return GL_ECONFIG;
    }
    if (rc > 0) {
        snprintf(c->err, GL_CFG_ERR_MAX, "%s:%d: syntax error", c->name, rc);
        return GL_ECONFIG;
    }
    if (rc < 0) {
        snprintf(c->err, GL_CFG_ERR_MAX, "%s: cannot read the file", c->name);
        return GL_EIO;
    }
    for (size_t i = 0; i < c->nitems; i++) {
        if (c->items[i].required && !c->seen[i]) {
            snprintf(c->err, GL_CFG_ERR_MAX, "%s: [%s] %s: required key missing",
                     c->name, c->items[i].section, c->items[i].name);
            return GL_ECONFIG;
        }
    }
    c->err[0] = '\0';
    return GL_OK;
}

static void cfg_begin(struct cfg_ctx *c, const char *name,
                      const struct gl_cfg_item *items, size_t nitems,
                      char *err)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->items = items;
    c->nitems = nitems;
    c->err = err;
}

int gl_config_load(const char *path, const struct gl_cfg_item *items,
                   size_t nitems, char err[GL_CFG_ERR_MAX])
{
    struct cfg_ctx c;

    if (nitems > GL_CFG_MAX_ITEMS) {
        return GL_EINVAL;
    }
    int rc;

    cfg_begin(&c, path, items, nitems, err);
    c.fp = fopen(path, "r");
    if (c.fp == NULL) {
        snprintf(err, GL_CFG_ERR_MAX, "%s: cannot read the file", path);
        return GL_EIO;
    }
    rc = ini_parse_stream(cfg_reader, &c, cfg_handler, &c);
    fclose(c.fp);
    return cfg_finish(&c, rc);
}

int gl_config_parse_string(const char *text, const char *name,
                           const struct gl_cfg_item *items, size_t nitems,
                           char err[GL_CFG_ERR_MAX])
{
    struct cfg_ctx c;

    if (nitems > GL_CFG_MAX_ITEMS) {
        return GL_EINVAL;
    }
    cfg_begin(&c, name, items, nitems, err);
    c.text = text;
    return cfg_finish(&c, ini_parse_stream(cfg_reader, &c, cfg_handler, &c));
}
