/*
 * gl_sql.c - prepared statements and SQLite's codes (contract in gl_sql.h).
 */
#include "gl_sql.h"

#include <assert.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "gl_err.h"

int gl_sql_rc(int src)
{
    switch (src & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return GL_OK;
    case SQLITE_FULL:
        return GL_DB_FULL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return GL_DB_BUSY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return GL_DB_CORRUPT;
    case SQLITE_CONSTRAINT:
        if (src == SQLITE_CONSTRAINT_UNIQUE ||
            src == SQLITE_CONSTRAINT_PRIMARYKEY) {
            return GL_EEXIST;
        }
        return GL_DB;
    default:
        return GL_DB;
    }
}

int gl_sql_err(struct gl_sql *s, int src)
{
    int rc = gl_sql_rc(src);
    if (rc != GL_OK) {
        snprintf(s->errmsg, sizeof s->errmsg, "%s",
                 s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(src));
    }
    return rc;
}

int gl_sql_last_err(struct gl_sql *s)
{
    return gl_sql_err(s, sqlite3_extended_errcode(s->db));
}

void gl_sql_close(struct gl_sql *s)
{
    for (int i = 0; i < s->n; i++) {
        sqlite3_finalize(s->q[i]);
        s->q[i] = NULL;
    }
    s->n = 0;
    s->db = NULL;
}

int gl_sql_open(struct gl_sql *s, struct sqlite3 *db, const char *name,
                const char *schema, const char *const *sql, int n)
{
    int src = SQLITE_OK, rc = GL_OK;

    assert(db != NULL && n >= 0 && n <= GL_SQL_STMT_MAX);
    memset(s, 0, sizeof *s);
    s->db = db;
    if (schema != NULL) {
        src = sqlite3_exec(db, schema, NULL, NULL, NULL);
        if (src != SQLITE_OK) {
            rc = gl_sql_rc(src);
            snprintf(s->errmsg, sizeof s->errmsg, "%s tables: %s", name,
                     sqlite3_errmsg(db));
            goto out;
        }
    }
    for (; s->n < n; s->n++) {
        assert(sql[s->n] != NULL);
        src = sqlite3_prepare_v3(db, sql[s->n], -1, SQLITE_PREPARE_PERSISTENT,
                                 &s->q[s->n], NULL);
        if (src != SQLITE_OK) {
            rc = gl_sql_rc(src);
            snprintf(s->errmsg, sizeof s->errmsg, "%s statement %d: %s", name,
                     s->n, sqlite3_errmsg(db));
            goto out;
        }
    }
out:
    if (rc != GL_OK) {
        gl_sql_close(s);
    }
    return rc;
}

int gl_sql_bind(struct sqlite3_stmt *st, const struct store_val *a, size_t n)
{
    int src = SQLITE_OK;
    for (size_t i = 0; i < n && src == SQLITE_OK; i++) {
        int col = (int)i + 1;
        switch (a[i].type) {
        case STORE_INT:
            src = sqlite3_bind_int64(st, col, a[i].i);
            break;
        case STORE_TEXT:
            src = sqlite3_bind_text(st, col, a[i].p, -1, SQLITE_STATIC);
            break;
        case STORE_BLOB:
            src =
                sqlite3_bind_blob(st, col, a[i].p, (int)a[i].n, SQLITE_STATIC);
            break;
        case STORE_NULL:
            src = sqlite3_bind_null(st, col);
            break;
        }
    }
    return src;
}

struct sqlite3_stmt *gl_sql_stmt(struct gl_sql *s, int q,
                                 const struct store_val *a, size_t n)
{
    assert(q >= 0 && q < s->n);
    sqlite3_stmt *st = s->q[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    /* A binding fails only for a statement that does not fit its
     * arguments (a programmer error): the step then reports it. */
    (void)gl_sql_bind(st, a, n);
    return st;
}

/* Runs q to its first row or its end and resets it: 1 with a row (its
 * column 0 into *col0, may be NULL), 0 without, or an error.  changes (may
 * be NULL) gets the rows written. */
static int sql_run(struct gl_sql *s, int q, const struct store_val *a, size_t n,
                   int64_t *col0, int64_t *changes)
{
    sqlite3_stmt *st = gl_sql_stmt(s, q, a, n);
    int src = sqlite3_step(st);
    int rc;
    if (src == SQLITE_ROW || src == SQLITE_DONE) {
        rc = src == SQLITE_ROW;
        if (rc == 1 && col0 != NULL) {
            *col0 = sqlite3_column_int64(st, 0);
        }
        if (changes != NULL) {
            *changes = sqlite3_changes64(s->db);
        }
    } else {
        rc = gl_sql_last_err(s);
    }
    sqlite3_reset(st);
    return rc;
}

int gl_sql_exec(struct gl_sql *s, int q, const struct store_val *a, size_t n,
                int64_t *changes)
{
    int rc = sql_run(s, q, a, n, NULL, changes);
    return rc < 0 ? rc : GL_OK;
}

int gl_sql_get_int(struct gl_sql *s, int q, const struct store_val *a, size_t n,
                   int64_t *out)
{
    int rc = sql_run(s, q, a, n, out, NULL);
    return rc < 0 ? rc : rc == 1 ? GL_OK : GL_ENOTFOUND;
}

void gl_sql_copy_text(char *dst, size_t cap, struct sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, cap, "%s", t != NULL ? (const char *)t : "");
}
