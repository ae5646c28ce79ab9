/*
 * test_acquirer.c - host-server/acquirer.c against the acquirer emulator
 * (tests/emulators/acq_emu.c) on loopback, over real TLS 1.2 and plain TCP.
 *
 * What is pinned: approvals and every decline rule; a retry of the same
 * identity charges once; a time-out (silence, a dropped connection, a late
 * or mismatched answer, an answer that does not decode) gives "no answer"
 * and the reversal that follows leaves the card's charge at 0; repeats
 * (0401) undo once; a reversal that overtakes its 0100 makes the 0100
 * decline; a wrong CA is refused before anything is sent; logs show card
 * numbers masked only; the steady state allocates nothing.
 *
 * Certificates come from the glctl_pki C API: the acquirer's CA with its
 * server certificate (CN acq-emu) and our client certificate, and another
 * CA for the refusal.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../gl_test.h"
#include "acq_emu.h"
#include "acquirer.h"
#include "gl_err.h"
#include "gl_log.h"
#include "glctl_pki.h"
#include "malloc_count.h"

#define ACQ_CN "acq-emu"
#define TIMEOUT_MS 700

static char base[64];
static char dir_a[128]; /* the acquirer's CA */
static char dir_b[128]; /* some other CA */
static char port_tls[16], port_plain[16];
static struct acq_emu *emu_tls, *emu_plain;
static struct acq_client *cli; /* TLS client used by most tests */

/* ---- helpers ------------------------------------------------------------ */

static void path_of(char *out, size_t n, const char *dir, const char *file)
{
    snprintf(out, n, "%s/%s", dir, file);
}

static int issue(enum glctl_pki_kind kind, const char *dir, const char *cn)
{
    struct glctl_pki_req r = {.kind = kind, .dir = dir, .cn = cn};
    char err[GLCTL_PKI_ERR_MAX];
    int rc = glctl_pki_issue(&r, err);
    if (rc != GL_OK) {
        printf("  issue %s: %s\n", cn ? cn : "CA", err);
    }
    return rc;
}

/* body (digits) + its Luhn check digit -> out */
static void make_pan(char out[20], const char *body)
{
    size_t n = strlen(body);
    int sum = 0;
    for (size_t i = 0; i < n; i++) {
        int d = body[n - 1 - i] - '0';
        if (i % 2 == 0) {
            d *= 2;
            if (d > 9) {
                d -= 9;
            }
        }
        sum += d;
    }
    snprintf(out, 20, "%s%d", body, (10 - sum % 10) % 10);
}

static struct acq_client *tls_client(const char *ca_dir, unsigned timeout_ms)
{
    char ca[300], crt[300], key[300], err[ACQ_ERR_MAX];
    struct acq_client *c = NULL;
    struct acq_config cfg = {0};

    path_of(ca, sizeof ca, ca_dir, "ca.crt");
    path_of(crt, sizeof crt, dir_a, "term-GLHOST01.crt");
    path_of(key, sizeof key, dir_a, "term-GLHOST01.key");
    cfg.host = "127.0.0.1";
    cfg.port = port_tls;
    cfg.ca_file = ca;
    cfg.cert_file = crt;
    cfg.key_file = key;
    cfg.server_cn = ACQ_CN;
    cfg.terminal_id = "GLHOST01";
    cfg.merchant_id = "GIFTLINK-WEB";
    cfg.timeout_ms = timeout_ms;
    if (acq_client_new(&c, &cfg, err) != GL_OK) {
        printf("  client: %s\n", err);
    }
    return c;
}

static void purchase(struct acq_purchase *p, const char *pan, uint64_t amount)
{
    memset(p, 0, sizeof *p);
    snprintf(p->pan, sizeof p->pan, "%s", pan);
    snprintf(p->expiry, sizeof p->expiry, "3012");
    p->amount = amount;
    acq_ident_next(cli, &p->id);
}

static void emu_cmd(struct acq_emu *e, const char *line)
{
    char reply[256];
    int rc = acq_emu_command(e, line, reply, sizeof reply);
    if (rc != GL_OK) {
        printf("  emulator '%s': %s\n", line, reply);
    }
    GL_CHECK_INT(GL_OK, rc);
}

/* Sends the reversal of p (0400, then 0401 until answered, at most 5). */
static int reverse_until_done(const struct acq_purchase *p,
                              struct acq_rev_result *res)
{
    struct acq_reversal rv;
    int rc = GL_ETIMEDOUT;
    acq_reversal_init(cli, &rv, p, &p->id, NULL);
    for (int i = 0; i < 5 && rc != GL_OK; i++) {
        rc = acq_reverse(cli, &rv, i > 0, res);
    }
    return rc;
}

/* ---- set-up ------------------------------------------------------------- */

GL_TEST(setup_certificates_and_acquirers)
{
    char tmpl[] = "/tmp/gl-test-acq-XXXXXX";
    char *b = mkdtemp(tmpl);
    char ca[300], crt[300], key[300], err[256];
    struct acq_emu_config cfg;
    int rc;

    GL_CHECK(b != NULL);
    if (b == NULL) {
        return;
    }
    snprintf(base, sizeof base, "%s", b);
    snprintf(dir_a, sizeof dir_a, "%s/a", base);
    snprintf(dir_b, sizeof dir_b, "%s/b", base);
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_CA, dir_a, "acquirer CA"));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_HOST, dir_a, ACQ_CN));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_TERMINAL, dir_a, "GLHOST01"));
    GL_CHECK_INT(GL_OK, issue(GLCTL_PKI_CA, dir_b, "another CA"));

    path_of(ca, sizeof ca, dir_a, "ca.crt");
    path_of(crt, sizeof crt, dir_a, "host.crt");
    path_of(key, sizeof key, dir_a, "host.key");
    cfg = (struct acq_emu_config){
        .ca_file = ca, .cert_file = crt, .key_file = key};
    rc = acq_emu_start(&emu_tls, &cfg, err);
    GL_CHECK_INT(GL_OK, rc);
    if (rc != GL_OK) {
        printf("  emulator: %s\n", err);
        return;
    }
    snprintf(port_tls, sizeof port_tls, "%d", acq_emu_port(emu_tls));
    cfg = (struct acq_emu_config){.plain = 1};
    rc = acq_emu_start(&emu_plain, &cfg, err);
    GL_CHECK_INT(GL_OK, rc);
    if (rc == GL_OK) {
        snprintf(port_plain, sizeof port_plain, "%d", acq_emu_port(emu_plain));
    }
    cli = tls_client(dir_a, TIMEOUT_MS);
    GL_CHECK(cli != NULL);
}

GL_TEST(config_errors_are_reported)
{
    struct acq_config cfg = {.host = "127.0.0.1",
                             .port = "1",
                             .plain = 1,
                             .terminal_id = "GLHOST01",
                             .merchant_id = "GIFTLINK-WEB"};
    struct acq_client *c = (struct acq_client *)&c;
    char err[ACQ_ERR_MAX];

    cfg.terminal_id = "TOO-LONG-ID";
    GL_CHECK_INT(GL_EINVAL, acq_client_new(&c, &cfg, err));
    GL_CHECK(c == NULL);
    GL_CHECK(strstr(err, "DE 41") != NULL);
    cfg.terminal_id = "GLHOST01";
    cfg.plain = 0;
    cfg.ca_file = "/nonexistent/ca.crt";
    cfg.server_cn = ACQ_CN;
    GL_CHECK_INT(GL_ECONFIG, acq_client_new(&c, &cfg, err));
    GL_CHECK(strstr(err, "/nonexistent/ca.crt") != NULL);
    cfg.server_cn = NULL;
    GL_CHECK_INT(GL_EINVAL, acq_client_new(&c, &cfg, err));
    GL_CHECK(strstr(err, "server_cn") != NULL);
}

/* ---- authorization ------------------------------------------------------ */

GL_TEST(approval_charges_the_card)
{
    struct acq_purchase p;
    struct acq_result r;
    struct acq_emu_record rec;
    char pan[20];
    int rc;

    emu_cmd(emu_tls, "reset");
    make_pan(pan, "411111000000001");
    purchase(&p, pan, 50000);
    rc = acq_authorize(cli, &p, &r);
    GL_CHECK_INT(GL_OK, rc);
    if (rc != GL_OK) {
        printf("  %s\n", r.err);
    }
    GL_CHECK_INT(ACQ_APPROVED, r.outcome);
    GL_CHECK_STR("00", r.rc);
    GL_CHECK_INT(6, strlen(r.approval));
    GL_CHECK_INT(0, r.must_reverse);
    GL_CHECK_INT(50000, acq_emu_charged(emu_tls, pan));
    GL_CHECK(acq_client_connected(cli));
    GL_CHECK_INT(GL_OK, acq_emu_record(emu_tls, 0, &rec));
    GL_CHECK_STR("0100", rec.mti);
    GL_CHECK_STR(p.id.stan, rec.stan);
    GL_CHECK_STR(p.id.de7, rec.de7);
    GL_CHECK_STR(pan, rec.pan);
    GL_CHECK_INT(50000, rec.amount);
    GL_CHECK_STR("00", rec.rc);
}

GL_TEST(a_retry_of_the_same_identity_charges_once)
{
    struct acq_purchase p;
    struct acq_result r1, r2;
    struct acq_emu_stats st;
    char pan[20];

    emu_cmd(emu_tls, "reset");
    make_pan(pan, "411111000000002");
    purchase(&p, pan, 12000);
    GL_CHECK_INT(GL_OK, acq_authorize(cli, &p, &r1));
    GL_CHECK_INT(GL_OK, acq_authorize(cli, &p, &r2));
    GL_CHECK_INT(ACQ_APPROVED, r2.outcome);
    GL_CHECK_STR(r1.approval, r2.approval);
    GL_CHECK_INT(12000, acq_emu_charged(emu_tls, pan));
    acq_emu_stats(emu_tls, &st);
    GL_CHECK_INT(1, st.approvals);
    GL_CHECK_INT(1, st.duplicates);
    /* The same identity with another amount is a different request: 94. */
    p.amount = 13000;
    GL_CHECK_INT(GL_OK, acq_authorize(cli, &p, &r2));
    GL_CHECK_INT(ACQ_DECLINED, r2.outcome);
    GL_CHECK_STR("94", r2.rc);
    GL_CHECK_INT(12000, acq_emu_charged(emu_tls, pan));
}

static void check_decline(const char *pan, const char *expiry, uint64_t amount,
                          const char *want_rc)
{
    struct acq_purchase p;
    struct acq_result r;
    int rc;

    purchase(&p, pan, amount);
    snprintf(p.expiry, sizeof p.expiry, "%s", expiry);
    rc = acq_authorize(cli, &p, &r);
    GL_CHECK_INT(GL_OK, rc);
    GL_CHECK_INT(ACQ_DECLINED, r.outcome);
    GL_CHECK_STR(want_rc, r.rc);
    GL_CHECK_STR("", r.approval);
    GL_CHECK_INT(0, r.must_reverse);
    GL_CHECK_INT(0, acq_emu_charged(emu_tls, pan));
}

GL_TEST(every_decline_rule_declines_and_charges_nothing)
{
    char pan[20], bad_luhn[20];

    emu_cmd(emu_tls, "reset");
    make_pan(bad_luhn, "411111000000003");
    bad_luhn[15] = bad_luhn[15] == '9' ? '0' : (char)(bad_luhn[15] + 1);
    check_decline(bad_luhn, "3012", 1000, "14");
    make_pan(pan, "400000000000005");
    check_decline(pan, "3012", 1000, "05");
    make_pan(pan, "400000000000051");
    check_decline(pan, "3012", 1000, "51");
    make_pan(pan, "400000000000054");
    check_decline(pan, "3012", 1000, "54");
    make_pan(pan, "411111000000004");
    check_decline(pan, "2001", 1000, "54"); /* expired January 2020 */
    make_pan(pan, "411111000000105");
    check_decline(pan, "3012", 1000001, "61");
    emu_cmd(emu_tls, "limit 2000000");
    make_pan(pan, "411111000000006");
    {
        struct acq_purchase p;
        struct acq_result r;
        purchase(&p, pan, 1500000);
        GL_CHECK_INT(GL_OK, acq_authorize(cli, &p, &r));
        GL_CHECK_STR("00", r.rc);
    }
    emu_cmd(emu_tls, "limit 1000000");
    make_pan(pan, "411111000000007");
    {
        char line[64];
        snprintf(line, sizeof line, "decline %s 57", pan);
        emu_cmd(emu_tls, line);
    }
    check_decline(pan, "3012", 1000, "57");
}

GL_TEST(a_malformed_purchase_is_refused_before_sending)
{
    struct acq_purchase p;
    struct acq_result r;
    char pan[20];

    make_pan(pan, "411111000000008");
    purchase(&p, pan, 1000);
    snprintf(p.pan, sizeof p.pan, "4111-1111");
    GL_CHECK_INT(GL_EINVAL, acq_authorize(cli, &p, &r));
    GL_CHECK_INT(ACQ_NOT_SENT, r.outcome);
    GL_CHECK(strstr(r.err, "card number") != NULL);
    purchase(&p, pan, 0);
    GL_CHECK_INT(GL_EINVAL, acq_authorize(cli, &p, &r));
    GL_CHECK(strstr(r.err, "amount") != NULL);
    purchase(&p, pan, 1000);
    snprintf(p.id.stan, sizeof p.id.stan, "12");
    GL_CHECK_INT(GL_EINVAL, acq_authorize(cli, &p, &r));
    GL_CHECK(strstr(r.err, "STAN") != NULL);
    GL_CHECK_INT(0, r.must_reverse);
}

/* ---- no answer, then the reversal --------------------------------------- */

/* p approved at the acquirer but unanswered: rc was the client's failure;
 * reverse and check the charge goes back to 0. */
static void reverse_and_check_zero(const struct acq_purchase *p,
                                   int64_t charged_before)
{
    struct acq_rev_result res;
    int rc;

    GL_CHECK_INT(charged_before, acq_emu_charged(emu_tls, p->pan));
    rc = reverse_until_done(p, &res);
    GL_CHECK_INT(GL_OK, rc);
    if (rc != GL_OK) {
        printf("  reversal: %s\n", res.err);
    }
    GL_CHECK_STR("00", res.rc);
    GL_CHECK_INT(0, acq_emu_charged(emu_tls, p->pan));
}

GL_TEST(time_out_gives_no_answer_and_the_reversal_undoes_the_charge)
{
    struct acq_purchase p;
    struct acq_result r;
    struct acq_emu_stats st;
    char pan[20];

    emu_cmd(emu_tls, "reset");
    emu_cmd(emu_tls, "silent 1");
    make_pan(pan, "411111000000010");
    purchase(&p, pan, 30000);
    GL_CHECK_INT(GL_ETIMEDOUT, acq_authorize(cli, &p, &r));
    GL_CHECK_INT(ACQ_NO_ANSWER, r.outcome);
    GL_CHECK_INT(1, r.must_reverse);
    GL_CHECK(strstr(r.err, "no answer") != NULL);
    reverse_and_check_zero(&p, 30000);
    acq_emu_stats(emu_tls, &st);
    GL_CHECK_INT(1, st.reversals_applied);
}

GL_TEST(repeated_reversals_undo_once)
{
    struct acq_purchase p;
    struct acq_result r;
    struct acq_reversal rv;
    struct acq_rev_result res;
    struct acq_emu_stats st;
    struct acq_emu_record rec;
    char pan[20];

    emu_cmd(emu_tls, "reset");
    emu_cmd(emu_tls, "silent 2"); /* the 0100 and the first 0400 */
    make_pan(pan, "411111000000011");
    purchase(&p, pan, 20000);
    GL_CHECK_INT(GL_ETIMEDOUT, acq_authorize(cli, &p, &r));
    acq_reversal_init(cli, &rv, &p, &p.id, NULL);
    GL_CHECK_INT(GL_ETIMEDOUT, acq_reverse(cli, &rv, 0, &res));
    GL_CHECK(strstr(res.err, "0400") != NULL);
    GL_CHECK_INT(0, acq_emu_charged(emu_tls, pan)); /* applied, unanswered */
    GL_CHECK_INT(GL_OK, acq_reverse(cli, &rv, 1, &res));
    GL_CHECK_STR("00", res.rc);
    GL_CHECK_INT(GL_OK, acq_reverse(cli, &rv, 1, &res));
    GL_CHECK_INT(0, acq_emu_charged(emu_tls, pan));
    acq_emu_stats(emu_tls, &st);
    GL_CHECK_INT(3, st.reversals);
    GL_CHECK_INT(1, st.reversals_applied);
    /* Every transmission carried the reversal's own STAN, DE 90 the 0100. */
    for (size_t i = 1; i <= 3; i++) {
        GL_CHECK_INT(GL_OK, acq_emu_record(emu_tls, i, &rec));
        GL_CHECK_STR(i == 1 ? "0400" : "0401", rec.mti);
        GL_CHECK_STR(rv.rev.stan, rec.stan);
        GL_CHECK_STR(p.id.stan, rec.orig_stan);
    }
}

GL_TEST(a_reversal_that_overtakes_its_0100_makes_it_decline)
{
    struct acq_purchase p;
    struct acq_result r;
    struct acq_rev_result res;
    struct acq_emu_stats st;
    char pan[20];

    emu_cmd(emu_tls, "reset");
    make_pan(pan, "411111000000012");
    purchase(&p, pan, 7000);
    GL_CHECK_INT(GL_OK, reverse_until_done(&p, &res));
    GL_CHECK_STR("00", res.rc);
    acq_emu_stats(emu_tls, &st);
    GL_CHECK_INT(1, st.reversals_unknown);
    GL_CHECK_INT(GL_OK, acq_authorize(cli, &p, &r));
    GL_CHECK_INT(ACQ_DECLINED, r.outcome);
    GL_CHECK_STR("12", r.rc);
    GL_CHECK_INT(0, acq_emu_charged(emu_tls, pan));
    /* The reversal of a decline does nothing. */
    GL_CHECK_INT(GL_OK, reverse_until_done(&p, &res));
    GL_CHECK_INT(0, acq_emu_charged(emu_tls, pan));
}

GL_TEST(a_dropped_connection_gives_no_answer_and_reversal_reconnects)
{
    struct acq_purchase p;
    struct acq_result r;
    char pan[20];

    emu_cmd(emu_tls, "reset");
    emu_cmd(emu_tls, "close");
    make_pan(pan, "411111000000013");
    purchase(&p, pan, 15000);
    GL_CHECK_INT(GL_ECLOSED, acq_authorize(cli, &p, &r));
    GL_CHECK_INT(ACQ_NO_ANSWER, r.outcome);
    GL_CHECK_INT(1, r.must_reverse);
    GL_CHECK(!acq_client_connected(cli));
    reverse_and_check_zero(&p, 15000);
    GL_CHECK(acq_client_connected(cli));
}

GL_TEST(an_answer_with_a_wrong_stan_or_de7_is_ignored)
{
    static const char *damage[] = {"answer wrongstan", "answer wrongde7"};
    for (int i = 0; i < 2; i++) {
        struct acq_purchase p;
        struct acq_result r;
        char pan[20];

        emu_cmd(emu_tls, "reset");
        emu_cmd(emu_tls, damage[i]);
        make_pan(pan, i == 0 ? "411111000000014" : "411111000000015");
        purchase(&p, pan, 9000);
        GL_CHECK_INT(GL_ETIMEDOUT, acq_authorize(cli, &p, &r));
        GL_CHECK_INT(ACQ_NO_ANSWER, r.outcome);
        GL_CHECK_STR("", r.rc);
        /* Dropped, not fatal: the connection stays. */
        GL_CHECK(acq_client_connected(cli));
        reverse_and_check_zero(&p, 9000);
    }
}

GL_TEST(a_late_answer_is_dropped_while_the_reversal_waits)
{
    struct acq_purchase p;
    struct acq_result r;
    char pan[20];

    emu_cmd(emu_tls, "reset");
    emu_cmd(emu_tls, "delay 900");
    make_pan(pan, "411111000000016");
    purchase(&p, pan, 8000);
    GL_CHECK_INT(GL_ETIMEDOUT, acq_authorize(cli, &p, &r));
    emu_cmd(emu_tls, "delay 0");
    /* The 0110 arrives ~200 ms into the 0400's wait, then the 0410. */
    reverse_and_check_zero(&p, 8000);
}

static void check_bad_answer(const char *cmd, const char *body, const char *why)
{
    struct acq_purchase p;
    struct acq_result r;
    char pan[20];
    int rc;

    emu_cmd(emu_tls, "reset");
    emu_cmd(emu_tls, cmd);
    make_pan(pan, body);
    purchase(&p, pan, 11000);
    rc = acq_authorize(cli, &p, &r);
    GL_CHECK_INT(GL_ACQ_BADANSWER, rc);
    GL_CHECK_INT(ACQ_NO_ANSWER, r.outcome);
    GL_CHECK_INT(1, r.must_reverse);
    GL_CHECK(strstr(r.err, why) != NULL);
    GL_CHECK(strstr(r.err, "connection closed") != NULL);
    if (gl_t_verbose_() || strstr(r.err, why) == NULL) {
        printf("    %s: %s\n", cmd, r.err);
    }
    GL_CHECK(!acq_client_connected(cli));
    reverse_and_check_zero(&p, 11000);
}

GL_TEST(malformed_answers_close_the_connection_with_a_clear_error)
{
    check_bad_answer("answer truncated", "411111000000017", "ISO_TRUNC");
    check_bad_answer("answer badbitmap", "411111000000018", "ISO_BITMAP");
    check_bad_answer("answer oversize", "411111000000019",
                     "frame length of 0 or above 8192");
}

/* ---- transport ---------------------------------------------------------- */

GL_TEST(an_acquirer_from_another_ca_is_refused_before_sending)
{
    struct acq_client *c = tls_client(dir_b, TIMEOUT_MS);
    struct acq_purchase p;
    struct acq_result r;
    char pan[20];
    int rc;

    GL_CHECK(c != NULL);
    if (c == NULL) {
        return;
    }
    emu_cmd(emu_tls, "reset");
    make_pan(pan, "411111000000020");
    purchase(&p, pan, 1000);
    rc = acq_authorize(c, &p, &r);
    GL_CHECK_INT(GL_TLS_BADCA, rc);
    GL_CHECK_INT(ACQ_NOT_SENT, r.outcome);
    GL_CHECK_INT(0, r.must_reverse);
    GL_CHECK(strstr(r.err, "not issued by the deployment CA") != NULL);
    if (gl_t_verbose_()) {
        printf("    %s\n", r.err);
    }
    GL_CHECK(!acq_client_connected(c));
    {
        struct acq_emu_stats st;
        acq_emu_stats(emu_tls, &st);
        GL_CHECK_INT(0, st.requests);
    }
    acq_client_free(c);
}

GL_TEST(a_closed_port_is_not_sent)
{
    struct acq_config cfg = {.host = "127.0.0.1",
                             .port = "1",
                             .plain = 1,
                             .terminal_id = "GLHOST01",
                             .merchant_id = "GIFTLINK-WEB",
                             .timeout_ms = TIMEOUT_MS};
    struct acq_client *c = NULL;
    struct acq_purchase p;
    struct acq_result r;
    char pan[20], err[ACQ_ERR_MAX];

    GL_CHECK_INT(GL_OK, acq_client_new(&c, &cfg, err));
    if (c == NULL) {
        return;
    }
    make_pan(pan, "411111000000021");
    purchase(&p, pan, 1000);
    GL_CHECK_INT(GL_NET_CONNECT, acq_authorize(c, &p, &r));
    GL_CHECK_INT(ACQ_NOT_SENT, r.outcome);
    GL_CHECK(strstr(r.err, "127.0.0.1:1") != NULL);
    acq_client_free(c);
}

GL_TEST(plain_tcp_for_a_van_line)
{
    struct acq_config cfg = {.host = "127.0.0.1",
                             .port = port_plain,
                             .plain = 1,
                             .terminal_id = "GLHOST01",
                             .merchant_id = "GIFTLINK-WEB",
                             .timeout_ms = TIMEOUT_MS};
    struct acq_client *c = NULL;
    struct acq_purchase p;
    struct acq_result r;
    char pan[20], err[ACQ_ERR_MAX];

    GL_CHECK_INT(GL_OK, acq_client_new(&c, &cfg, err));
    if (c == NULL) {
        return;
    }
    make_pan(pan, "411111000000022");
    purchase(&p, pan, 25000);
    GL_CHECK_INT(GL_OK, acq_authorize(c, &p, &r));
    GL_CHECK_STR("00", r.rc);
    GL_CHECK_INT(25000, acq_emu_charged(emu_plain, pan));
    /* and the time-out path on the plain line */
    emu_cmd(emu_plain, "silent 1");
    make_pan(pan, "411111000000023");
    purchase(&p, pan, 26000);
    GL_CHECK_INT(GL_ETIMEDOUT, acq_authorize(c, &p, &r));
    {
        struct acq_reversal rv;
        struct acq_rev_result res;
        acq_reversal_init(c, &rv, &p, &p.id, NULL);
        GL_CHECK_INT(GL_OK, acq_reverse(c, &rv, 0, &res));
    }
    GL_CHECK_INT(0, acq_emu_charged(emu_plain, pan));
    acq_client_free(c);
}

/* ---- card data ---------------------------------------------------------- */

GL_TEST(logs_show_card_numbers_masked_only)
{
    char path[160], buf[16384], masked[GL_MASK_MAX], pan[20];
    struct acq_purchase p;
    struct acq_result r;
    int fd, saved;
    ssize_t n;

    snprintf(path, sizeof path, "%s/log.txt", base);
    fflush(stderr);
    saved = dup(2);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    GL_CHECK(fd >= 0 && saved >= 0);
    if (fd < 0 || saved < 0) {
        return;
    }
    dup2(fd, 2);
    close(fd);
    gl_log_set_level(GL_LOG_DEBUG);

    emu_cmd(emu_tls, "reset");
    emu_cmd(emu_tls, "silent 1");
    make_pan(pan, "411111000000024");
    purchase(&p, pan, 4000);
    (void)acq_authorize(cli, &p, &r);
    reverse_and_check_zero(&p, 4000);
    {
        char line[64];
        snprintf(line, sizeof line, "decline %s 05", pan);
        emu_cmd(emu_tls, line);
    }

    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    gl_log_set_level(GL_LOG_WARN);

    fd = open(path, O_RDONLY);
    n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) {
        close(fd);
    }
    GL_CHECK(n > 0);
    buf[n > 0 ? n : 0] = '\0';
    gl_mask_pan(masked, pan, strlen(pan));
    GL_CHECK(strstr(buf, pan) == NULL);
    GL_CHECK(strstr(buf, masked) != NULL);
    GL_CHECK(strstr(buf, "0100 stan=") != NULL);
    GL_CHECK(strstr(buf, "0400 stan=") != NULL);
    if (gl_t_verbose_()) {
        printf("%s", buf);
    }
}

/* ---- resources ---------------------------------------------------------- */

GL_TEST(the_steady_state_allocates_nothing)
{
    struct acq_purchase p;
    struct acq_result r;
    struct acq_rev_result res;
    struct acq_reversal rv;
    char pan[20];
    long n;
    int ok = 1;

    emu_cmd(emu_tls, "reset");
    make_pan(pan, "411111000000025");
    purchase(&p, pan, 1000);
    GL_CHECK_INT(GL_OK, acq_authorize(cli, &p, &r)); /* connection open */
    GL_CHECK_INT(1, malloc_count_selftest());
    malloc_count_start();
    for (int i = 0; i < 20; i++) {
        purchase(&p, pan, 1000);
        ok &= acq_authorize(cli, &p, &r) == GL_OK;
        acq_reversal_init(cli, &rv, &p, &p.id, NULL);
        ok &= acq_reverse(cli, &rv, 0, &res) == GL_OK;
    }
    n = malloc_count_stop();
    GL_CHECK(ok);
    GL_CHECK_INT(0, n);
    GL_CHECK_INT(1000, acq_emu_charged(emu_tls, pan));
}

GL_TEST(identities_de90_and_the_repeat_schedule)
{
    struct acq_ident id = {"000123", "1125101500"};
    struct acq_ident a, b;
    char de90[43];

    acq_de90(de90, &id);
    GL_CHECK_STR("010000012311251015000000000000000000000000", de90);
    acq_ident_next(cli, &a);
    acq_ident_next(cli, &b);
    GL_CHECK_INT(6, strlen(a.stan));
    GL_CHECK_INT(10, strlen(a.de7));
    GL_CHECK_INT(atoi(a.stan) % 999999 + 1, atoi(b.stan));
    GL_CHECK_INT(atoi(b.stan), acq_stan_last(cli));
    GL_CHECK_INT(30000, acq_reversal_delay_ms(1));
    GL_CHECK_INT(60000, acq_reversal_delay_ms(2));
    GL_CHECK_INT(240000, acq_reversal_delay_ms(4));
    GL_CHECK_INT(300000, acq_reversal_delay_ms(9));
}

GL_TEST(teardown)
{
    char cmd[300];
    acq_client_free(cli);
    acq_emu_free(emu_tls);
    acq_emu_free(emu_plain);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    GL_CHECK_INT(0, system(cmd));
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    malloc_count_install();
    gl_log_open("test_acquirer", 0);
    /* Warnings only (dropped answers, closed connections); the masking
     * test turns on everything. */
    gl_log_set_level(GL_LOG_WARN);
    GL_RUN(setup_certificates_and_acquirers);
    GL_RUN(config_errors_are_reported);
    GL_RUN(approval_charges_the_card);
    GL_RUN(a_retry_of_the_same_identity_charges_once);
    GL_RUN(every_decline_rule_declines_and_charges_nothing);
    GL_RUN(a_malformed_purchase_is_refused_before_sending);
    GL_RUN(time_out_gives_no_answer_and_the_reversal_undoes_the_charge);
    GL_RUN(repeated_reversals_undo_once);
    GL_RUN(a_reversal_that_overtakes_its_0100_makes_it_decline);
    GL_RUN(a_dropped_connection_gives_no_answer_and_reversal_reconnects);
    GL_RUN(an_answer_with_a_wrong_stan_or_de7_is_ignored);
    GL_RUN(a_late_answer_is_dropped_while_the_reversal_waits);
    GL_RUN(malformed_answers_close_the_connection_with_a_clear_error);
    GL_RUN(an_acquirer_from_another_ca_is_refused_before_sending);
    GL_RUN(a_closed_port_is_not_sent);
    GL_RUN(plain_tcp_for_a_van_line);
    GL_RUN(logs_show_card_numbers_masked_only);
    GL_RUN(the_steady_state_allocates_nothing);
    GL_RUN(identities_de90_and_the_repeat_schedule);
    GL_RUN(teardown);
    return GL_TEST_END();
}
