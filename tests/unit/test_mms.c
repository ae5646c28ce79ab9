/*
 * test_mms.c - MMS over MM7: the SubmitReq built by mms.c and posted with
 * libcurl to the MMSC emulator (tests/emulators/mmsc_emu.c, libmicrohttpd)
 * on loopback, through the outbox and its sender (notify.c).
 *
 * Every MMS is checked where it lands: the emulated MMSC parses the
 * multipart body and records each part; the test saves them and reads the
 * barcode back with zbarimg.  The SMSC emulator runs too, because the
 * sender serves both kinds in one call.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../gl_test.h"
#include "gl_err.h"
#include "gl_log.h"
#include "mms.h"
#include "mmsc_emu.h"
#include "notify.h"
#include "smsc_emu.h"
#include "store.h"

#define PHONE "01012345678"
#define VOUCHER "9410123456789015"
#define SUBJECT "선물이 도착했습니다"
#define KOREAN "홍길동님이 문화상품권 5만원을 선물했습니다. 바코드를 보여 주세요."

static char g_dir[64];
static char g_addon[128];
static int g_dbn;

struct world {
    struct smsc_emu smsc;
    struct mmsc_emu mmsc;
    struct store st;
    sqlite3 *db;
    struct notify_sender s;
    int64_t now;
};

static int world_open(struct world *w, int timeout_ms)
{
    struct smsc_emu_config ec = {.system_id = "giftlink",
                                 .password = "secret1"};
    struct notify_sender_config c;
    char path[128];

    memset(w, 0, sizeof *w);
    w->now = 1700000000;
    if (smsc_emu_start(&w->smsc, &ec) != GL_OK ||
        mmsc_emu_start(&w->mmsc) != GL_OK) {
        return -1;
    }
    snprintf(path, sizeof path, "%s/host%d.db", g_dir, ++g_dbn);
    if (store_open(&w->st, NULL, NULL, path) != GL_OK) {
        return -1;
    }
    w->db = w->st.db;
    memset(&c, 0, sizeof c);
    c.smpp.host = "127.0.0.1";
    c.smpp.port = w->smsc.port;
    c.smpp.system_id = "giftlink";
    c.smpp.password = "secret1";
    c.smpp.source_addr = "15880000";
    c.smpp.connect_timeout_ms = 1000;
    c.smpp.resp_timeout_ms = 500;
    c.smpp.enquire_link_ms = 30000;
    c.retry.base_s = 5;
    c.retry.cap_s = 60;
    c.retry.max_attempts = 4;
    c.mms.url = w->mmsc.url;
    c.mms.vasp_id = "giftlink";
    c.mms.vas_id = "voucher";
    c.mms.sender = "15880000";
    c.mms.connect_timeout_ms = 1000;
    c.mms.timeout_ms = timeout_ms;
    if (notify_sender_init(&w->s, w->db, &c) != GL_OK) {
        printf("notify_sender_init: %s\n", notify_sender_errmsg(&w->s));
        return -1;
    }
    return 0;
}

static void world_close(struct world *w)
{
    notify_sender_deinit(&w->s);
    store_close(&w->st);
    mmsc_emu_stop(&w->mmsc);
    smsc_emu_stop(&w->smsc);
}

static void emu(struct world *w, const char *cmd)
{
    char reply[256];
    int rc = mmsc_emu_cmd(&w->mmsc, cmd, reply, sizeof reply);
    if (rc != GL_OK) {
        printf("  mmsc command \"%s\": %s\n", cmd, reply);
    }
    GL_CHECK_INT(GL_OK, rc);
}

static int enqueue(struct world *w, const char *key, const char *barcode,
                   const char *addon)
{
    const char *addons[1] = {addon};
    return notify_enqueue_mms_at(w->db, key, PHONE, SUBJECT, KOREAN, barcode,
                                 addons, addon != NULL ? 1 : 0, w->now);
}

static struct notify_row row_of(struct world *w, const char *key)
{
    struct notify_row r;
    int rc = notify_outbox_get_by_key(&w->s.ob, key, &r);
    GL_CHECK_INT(GL_OK, rc);
    return r;
}

/* zbarimg's reading of a PNG file, "" if none. */
static void scan(const char *file, char *out, size_t cap)
{
    char cmd[512];
    out[0] = '\0';
    snprintf(cmd, sizeof cmd, "zbarimg -q --raw '%s' 2>/dev/null", file);
    FILE *p = popen(cmd, "r");
    if (p == NULL) {
        return;
    }
    if (fgets(out, (int)cap, p) == NULL) {
        out[0] = '\0';
    }
    out[strcspn(out, "\r\n")] = '\0';
    pclose(p);
}

static long file_bytes(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return -1;
    }
    long n = (long)fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* ---- the pieces -------------------------------------------------------- */

GL_TEST(the_barcode_png_scans_back_to_the_voucher_number)
{
    unsigned char *png = NULL;
    size_t len = 0;
    char path[128], got[64];

    GL_CHECK_INT(GL_OK, mms_barcode_png(VOUCHER, &png, &len));
    GL_CHECK(len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0);
    snprintf(path, sizeof path, "%s/direct.png", g_dir);
    FILE *f = fopen(path, "wb");
    GL_CHECK(f != NULL && fwrite(png, 1, len, f) == len);
    if (f != NULL) {
        fclose(f);
    }
    free(png);
    scan(path, got, sizeof got);
    GL_CHECK_STR(VOUCHER, got);
    GL_CHECK_INT(GL_MMS_BARCODE, mms_barcode_png("", &png, &len));
}

GL_TEST(answers_map_to_success_retry_or_failure)
{
    char id[MMS_MSGID_MAX], why[256];
    const char *ok = "<e:Envelope><e:Body><m:SubmitRsp><Status><StatusCode>"
                     "1000</StatusCode><StatusText>Success</StatusText>"
                     "</Status><MessageID>abc-1</MessageID></m:SubmitRsp>"
                     "</e:Body></e:Envelope>";
    GL_CHECK_INT(GL_OK, mms_parse_rsp(200, ok, strlen(ok), id, why,
                                      sizeof why));
    GL_CHECK_STR("abc-1", id);
    const char *f4004 = "<Fault><detail><Status><StatusCode>4004</StatusCode>"
                        "<StatusText>Validation error</StatusText></Status>"
                        "</detail></Fault>";
    GL_CHECK_INT(GL_MMS_REJECTED,
                 mms_parse_rsp(500, f4004, strlen(f4004), id, why, sizeof why));
    GL_CHECK(strstr(why, "4004") != NULL);
    const char *f2002 = "<StatusCode>2002</StatusCode>";
    GL_CHECK_INT(GL_MMS_REJECTED,
                 mms_parse_rsp(500, f2002, strlen(f2002), id, why, sizeof why));
    const char *f3000 = "<StatusCode>3000</StatusCode>";
    GL_CHECK_INT(GL_MMS_TEMPFAIL,
                 mms_parse_rsp(500, f3000, strlen(f3000), id, why, sizeof why));
    const char *f4006 = "<StatusCode>4006</StatusCode>";
    GL_CHECK_INT(GL_MMS_TEMPFAIL,
                 mms_parse_rsp(500, f4006, strlen(f4006), id, why, sizeof why));
    GL_CHECK_INT(GL_MMS_THROTTLED,
                 mms_parse_rsp(503, f4006, strlen(f4006), id, why, sizeof why));
    GL_CHECK_INT(GL_MMS_TEMPFAIL,
                 mms_parse_rsp(502, "", 0, id, why, sizeof why));
    GL_CHECK_INT(GL_MMS_PROTO,
                 mms_parse_rsp(200, "<html/>", 7, id, why, sizeof why));
    const char *noid = "<StatusCode>1000</StatusCode>";
    GL_CHECK_INT(GL_MMS_PROTO,
                 mms_parse_rsp(200, noid, strlen(noid), id, why, sizeof why));
}

GL_TEST(content_is_checked_before_it_is_queued)
{
    const char *bad_type[1] = {"/tmp/x.exe"};
    const char *nl[1] = {"/tmp/a\nb.png"};
    GL_CHECK_INT(GL_OK, mms_check(SUBJECT, VOUCHER, NULL, 0));
    GL_CHECK_INT(GL_MMS_CONTENT, mms_check(SUBJECT, VOUCHER, bad_type, 1));
    GL_CHECK_INT(GL_MMS_CONTENT, mms_check(SUBJECT, VOUCHER, nl, 1));
    GL_CHECK_INT(GL_MMS_CONTENT, mms_check("a\tb", VOUCHER, NULL, 0));
    GL_CHECK_INT(GL_MMS_CONTENT, mms_check(SUBJECT, "", NULL, 0));
    GL_CHECK_STR("audio/amr", mms_addon_type("/x/sound.AMR"));
    GL_CHECK(mms_addon_type("/x.d/noext") == NULL);
}

/* ---- through the outbox to the MMSC ------------------------------------ */

GL_TEST(an_mms_with_korean_text_barcode_and_addon_arrives)
{
    struct world w;
    char list[2048], dir[128], path[256], got[128];
    unsigned char a[256], b[256];
    int sent = -1;

    GL_CHECK_INT(0, world_open(&w, 3000));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:M1", VOUCHER, g_addon));
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now, &sent));
    GL_CHECK_INT(1, sent);
    struct notify_row r = row_of(&w, "gift:M1");
    GL_CHECK_STR("mms", r.kind);
    GL_CHECK_STR("sent", notify_state_name(r.state));
    GL_CHECK_STR("MMSC000001", r.smsc_id);
    GL_CHECK_INT(1, mmsc_emu_count(&w.mmsc));

    GL_CHECK_INT(GL_OK, mmsc_emu_cmd(&w.mmsc, "list", list, sizeof list));
    GL_CHECK(strncmp(list, PHONE "\t" SUBJECT "\t" KOREAN "\t", 
                     strlen(PHONE "\t" SUBJECT "\t" KOREAN "\t")) == 0);
    GL_CHECK(strstr(list, "application/smil:mms.smil:") != NULL);
    GL_CHECK(strstr(list, "image/png:barcode.png:") != NULL);
    GL_CHECK(strstr(list, "audio/amr:ring.amr:") != NULL);
    if (strstr(list, "barcode.png") == NULL) {
        printf("  list: %s\n", list);
    }

    snprintf(dir, sizeof dir, "%s/saved1", g_dir);
    GL_CHECK_INT(0, mkdir(dir, 0700));
    snprintf(path, sizeof path, "save %s", dir);
    emu(&w, path);
    snprintf(path, sizeof path, "%s/1_barcode.png", dir);
    scan(path, got, sizeof got);
    GL_CHECK_STR(VOUCHER, got);
    snprintf(path, sizeof path, "%s/1_text.txt", dir);
    long n = file_bytes(path, a, sizeof a - 1);
    a[n > 0 ? n : 0] = '\0';
    GL_CHECK_STR(KOREAN, (char *)a);
    snprintf(path, sizeof path, "%s/1_ring.amr", dir);
    long na = file_bytes(path, a, sizeof a);
    long nb = file_bytes(g_addon, b, sizeof b);
    GL_CHECK_INT(nb, na);
    GL_CHECK(na > 0 && memcmp(a, b, (size_t)na) == 0);
    world_close(&w);
}

GL_TEST(sms_and_mms_rows_each_go_to_their_own_centre)
{
    struct world w;
    int sent = -1;

    GL_CHECK_INT(0, world_open(&w, 3000));
    GL_CHECK_INT(GL_OK, notify_enqueue_at(w.db, "sms:1", PHONE, "문자",
                                          w.now));
    GL_CHECK_INT(GL_OK, enqueue(&w, "mms:1", VOUCHER, NULL));
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now, &sent));
    GL_CHECK_INT(2, sent);
    GL_CHECK_INT(1, mmsc_emu_count(&w.mmsc));
    GL_CHECK_INT(1, smsc_emu_count(&w.smsc));
    GL_CHECK_STR("sent", notify_state_name(row_of(&w, "sms:1").state));
    GL_CHECK_STR("sent", notify_state_name(row_of(&w, "mms:1").state));
    world_close(&w);
}

GL_TEST(throttled_is_retried_after_back_off_and_delivered_once)
{
    struct world w;
    int sent = -1;

    GL_CHECK_INT(0, world_open(&w, 3000));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:T", VOUCHER, NULL));
    emu(&w, "throttle 1");
    GL_CHECK_INT(GL_MMS_THROTTLED, notify_send_due(&w.s, w.now, &sent));
    GL_CHECK_INT(0, sent);
    struct notify_row r = row_of(&w, "gift:T");
    GL_CHECK_STR("queued", notify_state_name(r.state));
    GL_CHECK_INT(1, r.attempts);
    GL_CHECK_INT(w.now + 5, r.next_at);
    GL_CHECK(strstr(r.last_error, "503") != NULL);
    /* not before the back-off */
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now + 4, &sent));
    GL_CHECK_INT(0, sent);
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now + 5, &sent));
    GL_CHECK_INT(1, sent);
    GL_CHECK_STR("sent", notify_state_name(row_of(&w, "gift:T").state));
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now + 100, &sent));
    GL_CHECK_INT(0, sent);
    GL_CHECK_INT(1, mmsc_emu_count(&w.mmsc));
    world_close(&w);
}

GL_TEST(refused_fails_with_the_reason_and_the_next_row_goes_on)
{
    struct world w;
    int sent = -1;

    GL_CHECK_INT(0, world_open(&w, 3000));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:R1", VOUCHER, NULL));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:R2", VOUCHER, NULL));
    emu(&w, "refuse 1");
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now, &sent));
    GL_CHECK_INT(1, sent);
    struct notify_row r = row_of(&w, "gift:R1");
    GL_CHECK_STR("failed", notify_state_name(r.state));
    GL_CHECK(strstr(r.last_error, "4004") != NULL);
    GL_CHECK(strstr(r.last_error, "rejected") != NULL);
    GL_CHECK_STR("sent", notify_state_name(row_of(&w, "gift:R2").state));
    GL_CHECK_INT(1, mmsc_emu_count(&w.mmsc));
    /* a failed row is never sent again */
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now + 1000, &sent));
    GL_CHECK_INT(0, sent);
    world_close(&w);
}

GL_TEST(dropped_is_retried_and_arrives_once)
{
    struct world w;
    int sent = -1;
    char stats[128];

    GL_CHECK_INT(0, world_open(&w, 3000));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:D", VOUCHER, g_addon));
    emu(&w, "drop 1");
    GL_CHECK_INT(GL_ECLOSED, notify_send_due(&w.s, w.now, &sent));
    struct notify_row r = row_of(&w, "gift:D");
    GL_CHECK_STR("queued", notify_state_name(r.state));
    GL_CHECK_INT(1, r.attempts);
    GL_CHECK_INT(0, mmsc_emu_count(&w.mmsc));
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now + 5, &sent));
    GL_CHECK_INT(1, sent);
    GL_CHECK_INT(1, mmsc_emu_count(&w.mmsc));
    GL_CHECK_INT(GL_OK, mmsc_emu_cmd(&w.mmsc, "stats", stats, sizeof stats));
    GL_CHECK(strstr(stats, "dropped=1") != NULL);
    world_close(&w);
}

GL_TEST(an_unanswered_post_is_sent_again_at_least_once)
{
    struct world w;
    int sent = -1;

    GL_CHECK_INT(0, world_open(&w, 300));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:S", VOUCHER, NULL));
    emu(&w, "delay 1000");
    GL_CHECK_INT(GL_ETIMEDOUT, notify_send_due(&w.s, w.now, &sent));
    GL_CHECK_STR("queued", notify_state_name(row_of(&w, "gift:S").state));
    emu(&w, "normal");
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now + 5, &sent));
    GL_CHECK_INT(1, sent);
    /* the MMSC had taken the first POST too: the customer may get two */
    GL_CHECK_INT(2, mmsc_emu_count(&w.mmsc));
    world_close(&w);
}

GL_TEST(a_missing_addon_fails_the_row_for_good)
{
    struct world w;
    int sent = -1;

    GL_CHECK_INT(0, world_open(&w, 3000));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:A", VOUCHER, "/nonexistent/x.png"));
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now, &sent));
    GL_CHECK_INT(0, sent);
    struct notify_row r = row_of(&w, "gift:A");
    GL_CHECK_STR("failed", notify_state_name(r.state));
    GL_CHECK(strstr(r.last_error, "x.png") != NULL);
    GL_CHECK_INT(0, mmsc_emu_count(&w.mmsc));
    world_close(&w);
}

GL_TEST(mms_rows_are_idempotent_by_key)
{
    struct world w;
    const char *other[1] = {"/tmp/other.png"};

    GL_CHECK_INT(0, world_open(&w, 3000));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:I", VOUCHER, g_addon));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:I", VOUCHER, g_addon));
    sqlite3_stmt *q = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(w.db,
                           "SELECT (SELECT COUNT(*) FROM outbox) * 10 +"
                           " (SELECT COUNT(*) FROM outbox_mms)",
                           -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW) {
        n = sqlite3_column_int(q, 0);
    }
    sqlite3_finalize(q);
    GL_CHECK_INT(11, n);
    GL_CHECK_INT(GL_SMS_CONFLICT, enqueue(&w, "gift:I", "9410000000000000",
                                          g_addon));
    GL_CHECK_INT(GL_SMS_CONFLICT, enqueue(&w, "gift:I", VOUCHER, NULL));
    GL_CHECK_INT(GL_SMS_CONFLICT,
                 notify_enqueue_mms_at(w.db, "gift:I", PHONE, SUBJECT, KOREAN,
                                       VOUCHER, other, 1, w.now));
    GL_CHECK_INT(GL_SMS_CONFLICT,
                 notify_enqueue_at(w.db, "gift:I", PHONE, KOREAN, w.now));
    GL_CHECK_INT(GL_SMS_PHONE,
                 notify_enqueue_mms_at(w.db, "gift:P", "0212345678", SUBJECT,
                                       KOREAN, VOUCHER, NULL, 0, w.now));
    GL_CHECK_INT(GL_MMS_CONTENT, enqueue(&w, "gift:C", "", NULL));
    /* in a rolled-back transaction the row and its side row both vanish */
    GL_CHECK_INT(SQLITE_OK, sqlite3_exec(w.db, "BEGIN", NULL, NULL, NULL));
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:RB", VOUCHER, NULL));
    GL_CHECK_INT(SQLITE_OK, sqlite3_exec(w.db, "ROLLBACK", NULL, NULL, NULL));
    struct notify_row r;
    GL_CHECK_INT(GL_ENOTFOUND, notify_outbox_get_by_key(&w.s.ob, "gift:RB",
                                                        &r));
    int sent = -1;
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now, &sent));
    GL_CHECK_INT(1, sent);
    GL_CHECK_INT(GL_OK, enqueue(&w, "gift:I", VOUCHER, g_addon));
    GL_CHECK_INT(GL_OK, notify_send_due(&w.s, w.now + 100, &sent));
    GL_CHECK_INT(0, sent);
    GL_CHECK_INT(1, mmsc_emu_count(&w.mmsc));
    world_close(&w);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/gl-test-mms-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    gl_log_set_level(GL_LOG_WARN);
    /* an add-on: an AMR ring tone (the magic, then a few frames' bytes) */
    snprintf(g_addon, sizeof g_addon, "%s/ring.amr", g_dir);
    FILE *f = fopen(g_addon, "wb");
    if (f == NULL) {
        return 1;
    }
    fputs("#!AMR\n", f);
    for (int i = 0; i < 200; i++) {
        fputc((i * 37) & 0xff, f);
    }
    fclose(f);

    GL_RUN(the_barcode_png_scans_back_to_the_voucher_number);
    GL_RUN(answers_map_to_success_retry_or_failure);
    GL_RUN(content_is_checked_before_it_is_queued);
    GL_RUN(an_mms_with_korean_text_barcode_and_addon_arrives);
    GL_RUN(sms_and_mms_rows_each_go_to_their_own_centre);
    GL_RUN(throttled_is_retried_after_back_off_and_delivered_once);
    GL_RUN(refused_fails_with_the_reason_and_the_next_row_goes_on);
    GL_RUN(dropped_is_retried_and_arrives_once);
    GL_RUN(an_unanswered_post_is_sent_again_at_least_once);
    GL_RUN(a_missing_addon_fails_the_row_for_good);
    GL_RUN(mms_rows_are_idempotent_by_key);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (gl_t_fail_ == 0 && system(cmd) != 0) {
        printf("could not remove %s\n", g_dir);
    }
    return GL_TEST_END();
}
