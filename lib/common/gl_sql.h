/*
 * gl_sql.h - a module's prepared SQLite statements, and the one translation
 * of SQLite's result codes into gl_err codes.
 *
 * Contract:
 *  - A module that keeps tables of its own holds a struct gl_sql (its
 *    memory) on a connection it borrows (the store's, or one it opened).
 *    gl_sql_open runs the module's CREATE statements and prepares its list
 *    of SQL texts once (SQLITE_PREPARE_PERSISTENT); the statements live
 *    until gl_sql_close, so no request compiles SQL.  Statements are named
 *    by their index in that list (the module's enum).
 *  - SQLite codes become gl_err codes here: SQLITE_FULL -> GL_DB_FULL,
 *    BUSY and LOCKED -> GL_DB_BUSY, CORRUPT and NOTADB -> GL_DB_CORRUPT, a
 *    UNIQUE or PRIMARY KEY violation -> GL_EEXIST, anything else -> GL_DB
 *    (OK, ROW and DONE -> GL_OK).  Extended codes map by their class.  The
 *    functions taking the handle keep SQLite's text in errmsg.
 *  - Arguments are bound from arrays of struct store_val, borrowed until the
 *    statement is next reset.
 *  - A handle is used by one thread at a time.  No SQLite header is needed
 *    to hold one: only the .c files that read rows include <sqlite3.h>.
 */
#ifndef GL_SQL_H
#define GL_SQL_H

#include <stddef.h>
#include <stdint.h>

struct sqlite3;
struct sqlite3_stmt;

/* The most statements one handle prepares. */
#define GL_SQL_STMT_MAX 32

/*
 * A value bound to a statement parameter (borrowed for the call).  The
 * name is the store's (store.h), which binds the same way.
 */
enum store_type { STORE_NULL, STORE_INT, STORE_TEXT, STORE_BLOB };
struct store_val {
    enum store_type type;
    int64_t i;
    const void *p; /* TEXT: NUL-terminated; BLOB: n bytes */
    size_t n;
};
/* TEXT, or NULL for a NULL pointer. */
static inline struct store_val store_val_text(const char *s)
{
    struct store_val v = {.type = s != NULL ? STORE_TEXT : STORE_NULL, .p = s};
    return v;
}
#define STORE_I(x) {.type = STORE_INT, .i = (int64_t)(x)}
#define STORE_T(s) store_val_text(s)
#define STORE_B(b, len) {.type = STORE_BLOB, .p = (b), .n = (len)}
#define STORE_N {.type = STORE_NULL}
/* STORE_ARGS(STORE_I(1), STORE_T("x")) -> array, count */
#define STORE_ARGS(...)                                                        \
    (const struct store_val[]){__VA_ARGS__},                                   \
        sizeof((const struct store_val[]){__VA_ARGS__}) /                      \
            sizeof(struct store_val)

struct gl_sql {
    struct sqlite3 *db;                      /* borrowed */
    struct sqlite3_stmt *q[GL_SQL_STMT_MAX]; /* q[0..n-1] once open */
    int n;
    /* SQLite's text of the last error ("" if none).  The owner may write
     * its own messages here too (its errmsg function returns it). */
    char errmsg[256];
};

/*
 * Opens s on db (borrowed; it must outlive s): runs schema (trusted SQL,
 * may be NULL), then prepares sql[0..n-1].  name prefixes the error text
 * ("<name> tables: ...", "<name> statement 3: ...").  n is at most
 * GL_SQL_STMT_MAX.  s is the caller's memory; it is cleared first.
 * Returns GL_OK or a GL_DB* code (text in s->errmsg; s is then closed).
 */
int gl_sql_open(struct gl_sql *s, struct sqlite3 *db, const char *name,
                const char *schema, const char *const *sql, int n);
/* Finalizes the statements (not the connection).  Safe on a closed or
 * zeroed handle; errmsg is kept. */
void gl_sql_close(struct gl_sql *s);

/* SQLite's code (primary or extended) -> gl_err, as in the file comment. */
int gl_sql_rc(int src);
/* gl_sql_rc(src), keeping sqlite3_errmsg's text in s->errmsg when it is an
 * error. */
int gl_sql_err(struct gl_sql *s, int src);
/* gl_sql_err of the connection's last (extended) code: the error of the
 * sqlite3_step that just failed. */
int gl_sql_last_err(struct gl_sql *s);

/*
 * Binds a[0..n-1] to ?1.. of st (borrowed until st is reset), stopping at
 * the first failure.  Returns SQLITE_OK or that bind's SQLite code (for
 * gl_sql_rc; SQLITE_RANGE: more arguments than parameters).
 */
int gl_sql_bind(struct sqlite3_stmt *st, const struct store_val *a, size_t n);
/*
 * Statement q, reset, its old bindings cleared and a[0..n-1] bound to ?1..
 * (borrowed until the next reset).  The caller steps it and resets it when
 * done (or leaves it for the next gl_sql_stmt, which resets it).
 */
struct sqlite3_stmt *gl_sql_stmt(struct gl_sql *s, int q,
                                 const struct store_val *a, size_t n);
/* Runs q to its first row or its end and resets it.  changes (may be NULL)
 * gets the rows it wrote. */
int gl_sql_exec(struct gl_sql *s, int q, const struct store_val *a, size_t n,
                int64_t *changes);
/* Runs q and reads column 0 of its first row into *out: GL_ENOTFOUND when
 * there is no row (*out untouched). */
int gl_sql_get_int(struct gl_sql *s, int q, const struct store_val *a, size_t n,
                   int64_t *out);
/* Copies text column col of st's current row into dst (cap bytes, always
 * terminated, cut if longer); "" for NULL. */
void gl_sql_copy_text(char *dst, size_t cap, struct sqlite3_stmt *st, int col);

#endif /* GL_SQL_H */
