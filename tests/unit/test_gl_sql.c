/*
 * test_gl_sql.c - a module's prepared statements (lib/common/gl_sql.h): the
 * translation of SQLite's codes, each met for real (a UNIQUE and a PRIMARY
 * KEY violation, a full database through a tiny max_page_count, a write
 * lock held by another connection), the schema run and the statements
 * prepared at open (and the text of a failure), the binding of each value
 * type, changes, GL_ENOTFOUND from get_int, and text copied out of a row.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "gl_err.h"
#include "gl_sql.h"

static char g_dir[] = "/tmp/gl-sql-XXXXXX";

enum { Q_PUT, Q_GET, Q_COUNT, Q_TYPES, Q_BIG, Q_PAIR, Q__COUNT };

static const char k_schema[] =
    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY,"
    "  name TEXT UNIQUE, n INTEGER, b BLOB, note TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE IF NOT EXISTS pair (k TEXT PRIMARY KEY, v INTEGER);"
    "CREATE TABLE IF NOT EXISTS big (b BLOB);";

static const char *const k_sql[Q__COUNT] = {
    [Q_PUT] = "INSERT INTO t (name, n, b) VALUES (?1, ?2, ?3)",
    [Q_GET] = "SELECT n FROM t WHERE name = ?1",
    [Q_COUNT] = "UPDATE t SET n = n + 1 WHERE n >= ?1",
    [Q_TYPES] = "SELECT typeof(?1), typeof(?2), typeof(?3), typeof(?4),"
                " ?1, ?2, length(?3), hex(?3), ?4",
    [Q_BIG] = "INSERT INTO big VALUES (zeroblob(?1))",
    [Q_PAIR] = "INSERT INTO pair (k, v) VALUES (?1, ?2)",
};

static sqlite3 *mem_db(void)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

GL_TEST(codes_map_by_class)
{
    GL_CHECK_INT(GL_OK, gl_sql_rc(SQLITE_OK));
    GL_CHECK_INT(GL_OK, gl_sql_rc(SQLITE_ROW));
    GL_CHECK_INT(GL_OK, gl_sql_rc(SQLITE_DONE));
    GL_CHECK_INT(GL_DB_FULL, gl_sql_rc(SQLITE_FULL));
    GL_CHECK_INT(GL_DB_BUSY, gl_sql_rc(SQLITE_BUSY));
    GL_CHECK_INT(GL_DB_BUSY, gl_sql_rc(SQLITE_BUSY_SNAPSHOT));
    GL_CHECK_INT(GL_DB_BUSY, gl_sql_rc(SQLITE_LOCKED));
    GL_CHECK_INT(GL_DB_CORRUPT, gl_sql_rc(SQLITE_CORRUPT));
    GL_CHECK_INT(GL_DB_CORRUPT, gl_sql_rc(SQLITE_NOTADB));
    GL_CHECK_INT(GL_EEXIST, gl_sql_rc(SQLITE_CONSTRAINT_UNIQUE));
    GL_CHECK_INT(GL_EEXIST, gl_sql_rc(SQLITE_CONSTRAINT_PRIMARYKEY));
    /* a primary code says too little to call it a duplicate */
    GL_CHECK_INT(GL_DB, gl_sql_rc(SQLITE_CONSTRAINT));
    GL_CHECK_INT(GL_DB, gl_sql_rc(SQLITE_CONSTRAINT_NOTNULL));
    GL_CHECK_INT(GL_DB, gl_sql_rc(SQLITE_IOERR_WRITE));
    GL_CHECK_INT(GL_DB, gl_sql_rc(SQLITE_ERROR));
    GL_CHECK_INT(GL_DB, gl_sql_rc(SQLITE_NOMEM));
}

GL_TEST(open_runs_schema_and_prepares)
{
    struct gl_sql s;
    sqlite3 *db = mem_db();
    GL_CHECK(db != NULL);
    GL_CHECK_INT(GL_OK, gl_sql_open(&s, db, "test", k_schema, k_sql, Q__COUNT));
    GL_CHECK_INT(Q__COUNT, s.n);
    GL_CHECK(s.db == db);
    GL_CHECK(s.q[Q__COUNT - 1] != NULL);
    GL_CHECK_STR("", s.errmsg);
    gl_sql_close(&s);
    GL_CHECK_INT(0, s.n);
    GL_CHECK(s.q[0] == NULL && s.db == NULL);
    gl_sql_close(&s); /* again: nothing left to finalize */

    /* the schema runs again on an existing database (IF NOT EXISTS) */
    GL_CHECK_INT(GL_OK, gl_sql_open(&s, db, "test", k_schema, k_sql, Q__COUNT));
    gl_sql_close(&s);
    /* no schema: the tables are already there */
    GL_CHECK_INT(GL_OK, gl_sql_open(&s, db, "test", NULL, k_sql, Q__COUNT));
    gl_sql_close(&s);

    /* a statement that does not compile names itself and closes the rest */
    static const char *const bad[] = {"SELECT 1", "SELECT nope FROM t"};
    GL_CHECK_INT(GL_DB, gl_sql_open(&s, db, "test", NULL, bad, 2));
    GL_CHECK_STR("test statement 1: no such column: nope", s.errmsg);
    GL_CHECK_INT(0, s.n);
    GL_CHECK(s.q[0] == NULL && s.db == NULL);

    /* a schema that fails */
    GL_CHECK_INT(GL_DB,
                 gl_sql_open(&s, db, "test", "CREATE TABLE t (x)", k_sql, 1));
    GL_CHECK_STR("test tables: table t already exists", s.errmsg);
    GL_CHECK_INT(0, s.n);
    sqlite3_close(db);
}

GL_TEST(unique_and_primary_key_are_eexist)
{
    struct gl_sql s;
    sqlite3 *db = mem_db();
    int64_t changes = -1;
    GL_CHECK_INT(GL_OK, gl_sql_open(&s, db, "test", k_schema, k_sql, Q__COUNT));
    GL_CHECK_INT(GL_OK,
                 gl_sql_exec(&s, Q_PUT,
                             STORE_ARGS(STORE_T("a"), STORE_I(1), STORE_N),
                             &changes));
    GL_CHECK_INT(1, changes);
    changes = -1;
    GL_CHECK_INT(GL_EEXIST,
                 gl_sql_exec(&s, Q_PUT,
                             STORE_ARGS(STORE_T("a"), STORE_I(2), STORE_N),
                             &changes));
    GL_CHECK_INT(-1, changes); /* untouched on failure */
    GL_CHECK_INT(SQLITE_CONSTRAINT_UNIQUE, sqlite3_extended_errcode(db));
    GL_CHECK_STR("UNIQUE constraint failed: t.name", s.errmsg);

    GL_CHECK_INT(
        GL_OK,
        gl_sql_exec(&s, Q_PAIR, STORE_ARGS(STORE_T("k"), STORE_I(1)), NULL));
    GL_CHECK_INT(
        GL_EEXIST,
        gl_sql_exec(&s, Q_PAIR, STORE_ARGS(STORE_T("k"), STORE_I(2)), NULL));
    GL_CHECK_INT(SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3_extended_errcode(db));
    GL_CHECK_STR("UNIQUE constraint failed: pair.k", s.errmsg);
    /* the statement was reset: it runs again at once */
    GL_CHECK_INT(
        GL_OK,
        gl_sql_exec(&s, Q_PAIR, STORE_ARGS(STORE_T("k2"), STORE_I(2)), NULL));
    gl_sql_close(&s);
    sqlite3_close(db);
}

GL_TEST(a_full_database_is_db_full)
{
    struct gl_sql s;
    sqlite3 *db = mem_db();
    GL_CHECK_INT(GL_OK, gl_sql_open(&s, db, "test", k_schema, k_sql, Q__COUNT));
    GL_CHECK_INT(SQLITE_OK, sqlite3_exec(db, "PRAGMA max_page_count = 16", NULL,
                                         NULL, NULL));
    GL_CHECK_INT(GL_OK, gl_sql_exec(&s, Q_BIG, STORE_ARGS(STORE_I(100)), NULL));
    GL_CHECK_INT(GL_DB_FULL,
                 gl_sql_exec(&s, Q_BIG, STORE_ARGS(STORE_I(1 << 20)), NULL));
    GL_CHECK_STR("database or disk is full", s.errmsg);
    gl_sql_close(&s);
    sqlite3_close(db);
}

GL_TEST(another_writer_is_db_busy)
{
    char path[300];
    sqlite3 *a = NULL, *b = NULL;
    struct gl_sql s;
    snprintf(path, sizeof path, "%s/busy.db", g_dir);
    GL_CHECK_INT(SQLITE_OK, sqlite3_open(path, &a));
    GL_CHECK_INT(SQLITE_OK, sqlite3_open(path, &b));
    GL_CHECK_INT(GL_OK, gl_sql_open(&s, b, "test", k_schema, k_sql, Q__COUNT));
    sqlite3_busy_timeout(b, 0);
    GL_CHECK_INT(SQLITE_OK,
                 sqlite3_exec(a, "BEGIN IMMEDIATE", NULL, NULL, NULL));
    GL_CHECK_INT(GL_DB_BUSY,
                 gl_sql_exec(&s, Q_PUT,
                             STORE_ARGS(STORE_T("x"), STORE_I(1), STORE_N),
                             NULL));
    GL_CHECK_STR("database is locked", s.errmsg);
    GL_CHECK_INT(SQLITE_OK, sqlite3_exec(a, "ROLLBACK", NULL, NULL, NULL));
    GL_CHECK_INT(GL_OK,
                 gl_sql_exec(&s, Q_PUT,
                             STORE_ARGS(STORE_T("x"), STORE_I(1), STORE_N),
                             NULL));
    gl_sql_close(&s);
    sqlite3_close(b);
    sqlite3_close(a);
}

GL_TEST(get_int_and_changes)
{
    struct gl_sql s;
    sqlite3 *db = mem_db();
    int64_t v = 77, changes = -1;
    GL_CHECK_INT(GL_OK, gl_sql_open(&s, db, "test", k_schema, k_sql, Q__COUNT));
    GL_CHECK_INT(GL_ENOTFOUND,
                 gl_sql_get_int(&s, Q_GET, STORE_ARGS(STORE_T("none")), &v));
    GL_CHECK_INT(77, v); /* untouched */
    GL_CHECK_INT(GL_OK,
                 gl_sql_exec(&s, Q_PUT,
                             STORE_ARGS(STORE_T("a"), STORE_I(-5), STORE_N),
                             NULL));
    GL_CHECK_INT(GL_OK,
                 gl_sql_exec(&s, Q_PUT,
                             STORE_ARGS(STORE_T("b"), STORE_I(7), STORE_N),
                             NULL));
    GL_CHECK_INT(GL_OK,
                 gl_sql_get_int(&s, Q_GET, STORE_ARGS(STORE_T("a")), &v));
    GL_CHECK_INT(-5, v);
    GL_CHECK_INT(GL_OK,
                 gl_sql_exec(&s, Q_COUNT, STORE_ARGS(STORE_I(-100)), &changes));
    GL_CHECK_INT(2, changes);
    GL_CHECK_INT(GL_OK,
                 gl_sql_exec(&s, Q_COUNT, STORE_ARGS(STORE_I(100)), &changes));
    GL_CHECK_INT(0, changes);
    GL_CHECK_INT(GL_OK,
                 gl_sql_get_int(&s, Q_GET, STORE_ARGS(STORE_T("b")), &v));
    GL_CHECK_INT(8, v);
    gl_sql_close(&s);
    sqlite3_close(db);
}

GL_TEST(each_type_binds)
{
    struct gl_sql s;
    sqlite3 *db = mem_db();
    static const unsigned char blob[] = {0x00, 0xff, 0x10};
    char text[16];
    GL_CHECK_INT(GL_OK, gl_sql_open(&s, db, "test", k_schema, k_sql, Q__COUNT));
    sqlite3_stmt *st =
        gl_sql_stmt(&s, Q_TYPES,
                    STORE_ARGS(STORE_I(INT64_MIN), STORE_T("한글 text"),
                               STORE_B(blob, sizeof blob), STORE_N));
    GL_CHECK_INT(SQLITE_ROW, sqlite3_step(st));
    GL_CHECK_STR("integer", (const char *)sqlite3_column_text(st, 0));
    GL_CHECK_STR("text", (const char *)sqlite3_column_text(st, 1));
    GL_CHECK_STR("blob", (const char *)sqlite3_column_text(st, 2));
    GL_CHECK_STR("null", (const char *)sqlite3_column_text(st, 3));
    GL_CHECK(sqlite3_column_int64(st, 4) == INT64_MIN);
    GL_CHECK_STR("한글 text", (const char *)sqlite3_column_text(st, 5));
    GL_CHECK_INT(3, sqlite3_column_int(st, 6));
    GL_CHECK_STR("00FF10", (const char *)sqlite3_column_text(st, 7));

    /* copy_text: whole, cut to the buffer, and "" for NULL */
    gl_sql_copy_text(text, sizeof text, st, 5);
    GL_CHECK_STR("한글 text", text);
    gl_sql_copy_text(text, 4, st, 0);
    GL_CHECK_STR("int", text);
    GL_CHECK_INT(SQLITE_NULL, sqlite3_column_type(st, 8));
    gl_sql_copy_text(text, sizeof text, st, 8);
    GL_CHECK_STR("", text);

    /* a NULL string binds NULL; the old bindings are cleared */
    st = gl_sql_stmt(&s, Q_TYPES, STORE_ARGS(STORE_T(NULL)));
    GL_CHECK_INT(SQLITE_ROW, sqlite3_step(st));
    GL_CHECK_STR("null", (const char *)sqlite3_column_text(st, 0));
    GL_CHECK_STR("null", (const char *)sqlite3_column_text(st, 1));
    GL_CHECK_STR("null", (const char *)sqlite3_column_text(st, 2));
    sqlite3_reset(st);

    /* more arguments than parameters: the bind's own code */
    GL_CHECK_INT(SQLITE_RANGE,
                 gl_sql_bind(s.q[Q_GET], STORE_ARGS(STORE_T("a"), STORE_I(1))));
    GL_CHECK_INT(GL_DB, gl_sql_rc(SQLITE_RANGE));
    gl_sql_close(&s);
    sqlite3_close(db);
}

int main(void)
{
    if (mkdtemp(g_dir) == NULL) {
        return 1;
    }
    GL_RUN(codes_map_by_class);
    GL_RUN(open_runs_schema_and_prepares);
    GL_RUN(unique_and_primary_key_are_eexist);
    GL_RUN(a_full_database_is_db_full);
    GL_RUN(another_writer_is_db_busy);
    GL_RUN(get_int_and_changes);
    GL_RUN(each_type_binds);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0) {
        return 1;
    }
    return GL_TEST_END();
}
