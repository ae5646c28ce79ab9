/*
 * gl_config.h - INI configuration files through libinih, table-driven.
 *
 * A program describes the keys it accepts in a table of gl_cfg_item; the
 * loader fills the caller's variables and rejects, with file, line and key,
 * every unknown section or key, every value of the wrong type or outside
 * its range, every key given twice, and every required key that is missing.
 * Nothing is allocated: strings are copied into the caller's buffers.
 */
#ifndef GL_CONFIG_H
#define GL_CONFIG_H

#include <stddef.h>

enum gl_cfg_type {
    GL_CFG_STR,  /* char[size], NUL-terminated; longer values are an error */
    GL_CFG_INT,  /* long long in [min, max] */
    GL_CFG_BOOL, /* int: yes/no, true/false, on/off, 1/0 */
};

struct gl_cfg_item {
    const char *section;
    const char *name;
    enum gl_cfg_type type;
    void *dst;       /* the caller's variable */
    size_t size;     /* GL_CFG_STR: size of dst */
    long long min;   /* GL_CFG_INT */
    long long max;   /* GL_CFG_INT */
    int required;
};

#define GL_CFG_ERR_MAX 256

/*
 * Loads path.  Returns GL_OK, GL_ECONFIG with a message in err ("path:line:
 * [section] key: reason"), or GL_EIO when the file cannot be read.
 */
int gl_config_load(const char *path, const struct gl_cfg_item *items,
                   size_t nitems, char err[GL_CFG_ERR_MAX]);

/* The same over a string in memory; name is used in messages. */
int gl_config_parse_string(const char *text, const char *name,
                           const struct gl_cfg_item *items, size_t nitems,
                           char err[GL_CFG_ERR_MAX]);

#endif /* GL_CONFIG_H */
