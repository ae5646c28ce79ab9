/*
 * iso_vectors.h - loads the example messages of tests/vectors/ (gl-iso's
 * key=value input format) into struct iso_msg, for unit tests, benchmarks
 * and fuzz seeds.  Header only; test code, so it may print and exit.
 */
#ifndef ISO_VECTORS_H
#define ISO_VECTORS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gl_err.h"
#include "iso8583.h"

#define VEC_MAX 64

struct vec {
    char name[64];
    struct iso_msg msg;
};

static inline int vec_hex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s);
    if (n % 2 != 0 || n / 2 > cap) {
        return -1;
    }
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            return -1;
        }
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

/* Loads one file into msg; returns GL_OK or prints why and returns -1. */
static inline int vec_load_file(const char *path, struct iso_msg *msg)
{
    char line[4096];
    FILE *f = fopen(path, "r");
    struct iso_error err;
    int rc = 0;

    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    iso_msg_init(msg);
    while (rc == 0 && fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            rc = -1;
            break;
        }
        *eq = '\0';
        if (strcmp(line, "mti") == 0) {
            rc = iso_msg_set_mti(msg, eq + 1);
            continue;
        }
        int fno = atoi(line);
        if (fno >= 2 && fno <= ISO_FIELDS &&
            iso_fields_1987[fno].type == ISO_T_B) {
            uint8_t b[1024];
            int n = vec_hex(eq + 1, b, sizeof b);
            rc = n < 0 ? -1 : iso_msg_set(msg, fno, b, (size_t)n, &err);
        } else {
            rc = iso_msg_set_str(msg, fno, eq + 1, &err);
        }
    }
    fclose(f);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot load (%d)\n", path, rc);
        return -1;
    }
    return 0;
}

static inline int vec_cmp(const void *a, const void *b)
{
    return strcmp(((const struct vec *)a)->name, ((const struct vec *)b)->name);
}

/* Loads every .txt file of dir (sorted by name) into v[VEC_MAX];
 * returns the count, or -1. */
static inline int vec_load_all(const char *dir, struct vec *v)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL && n < VEC_MAX) {
        size_t l = strlen(e->d_name);
        char path[512];
        if (l < 5 || strcmp(e->d_name + l - 4, ".txt") != 0 ||
            l >= sizeof v[n].name) {
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        memcpy(v[n].name, e->d_name, l + 1);
        if (vec_load_file(path, &v[n].msg) != 0) {
            closedir(d);
            return -1;
        }
        n++;
    }
    closedir(d);
    qsort(v, (size_t)n, sizeof v[0], vec_cmp);
    return n;
}

#endif /* ISO_VECTORS_H */
