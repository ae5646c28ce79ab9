/*
 * test_magstripe.c - the magnetic-stripe reader: track parsing, LRC and the
 * issuer table on buffers, then the device through the real libserialport
 * against the reader emulator.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../gl_test.h"
#include "gl_config.h"
#include "gl_err.h"
#include "magstripe.h"
#include "serial_emu.h"

#define WAIT_MS 10000
#define QUIET_MS 300

#define T1 "%B9410123456789012^HONG/GILDONG^2712101000000?"
#define T2 ";9410123456789012=2712101000000?"

static int parse(const char *s, int lrc, struct magstripe_card *c)
{
    return magstripe_parse(s, strlen(s), lrc, c);
}

GL_TEST(parse_tracks)
{
    struct magstripe_card c;

    GL_CHECK_INT(GL_OK, parse(T1 T2, 0, &c));
    GL_CHECK_STR("9410123456789012", c.pan);
    GL_CHECK_STR("HONG/GILDONG", c.name);
    GL_CHECK_STR("2712", c.expiry);
    GL_CHECK_STR("101", c.service);
    GL_CHECK_INT(MAGSTRIPE_TRACK1 | MAGSTRIPE_TRACK2, c.tracks);
    GL_CHECK_INT(GL_OK, parse(T2, 0, &c));
    GL_CHECK_STR("9410123456789012", c.pan);
    GL_CHECK_STR("", c.name);
    GL_CHECK_INT(MAGSTRIPE_TRACK2, c.tracks);
    GL_CHECK_INT(GL_OK, parse(T1, 0, &c));
    GL_CHECK_STR("HONG/GILDONG", c.name);
    GL_CHECK_STR("101", c.service);
    GL_CHECK_INT(MAGSTRIPE_TRACK1, c.tracks);
}

GL_TEST(parse_bad_swipes)
{
    struct magstripe_card c;

    GL_CHECK_INT(GL_MSR_EMPTY, parse("", 0, &c));
    GL_CHECK_INT(GL_MSR_NOSTART, parse("B9410123456789012^A B^2712101?", 0, &c));
    GL_CHECK_INT(GL_MSR_NOSTART, parse("9410123456789012=2712101?", 0, &c));
    GL_CHECK_INT(GL_MSR_NOEND, parse(";9410123456789012=2712101000", 0, &c));
    GL_CHECK_INT(GL_MSR_NOEND, parse("%B9410123456789012^HONG/GILDONG^2712101", 0, &c));
    GL_CHECK_INT(GL_MSR_BADCHAR, parse(";94101234567A9012=2712101?", 0, &c));
    GL_CHECK_INT(GL_MSR_BADCHAR, parse("%B9410123456789012^hong^2712101?", 0, &c));
    GL_CHECK_INT(GL_MSR_BADCHAR, parse(";9410\x7f" "123=2712101?", 0, &c));
    GL_CHECK_INT(GL_MSR_FORMAT, parse(";9410123456789012?", 0, &c));
    GL_CHECK_INT(GL_MSR_FORMAT, parse(";=2712101?", 0, &c));
    GL_CHECK_INT(GL_MSR_FORMAT, parse(";9410123456789012=2713101?", 0, &c));
    GL_CHECK_INT(GL_MSR_FORMAT, parse(";9410123456789012=27121?", 0, &c));
    GL_CHECK_INT(GL_MSR_FORMAT, parse("%A9410123456789012^HONG/GILDONG^2712101?", 0, &c));
    GL_CHECK_INT(GL_MSR_FORMAT, parse(T2 "junk", 0, &c));
    /* the two tracks disagree */
    GL_CHECK_INT(GL_MSR_FORMAT,
                 parse(T1 ";9410123456789013=2712101000000?", 0, &c));
    /* nothing left behind on failure */
    GL_CHECK_STR("", c.pan);
}

GL_TEST(lrc)
{
    struct magstripe_card c;
    char line[200];
    char l2 = magstripe_lrc(T2, strlen(T2));
    char l1 = magstripe_lrc(T1, strlen(T1));

    /* track 2 LRC by hand: XOR of the 4-bit values of ";9410...?" */
    {
        unsigned x = 0;
        for (const char *p = T2; *p; p++) {
            x ^= (unsigned)(*p - 0x30) & 0x0F;
        }
        GL_CHECK_INT(0x30 + x, l2);
    }
    snprintf(line, sizeof line, "%s%c%s%c", T1, l1, T2, l2);
    GL_CHECK_INT(GL_OK, parse(line, 1, &c));
    GL_CHECK_STR("9410123456789012", c.pan);
    snprintf(line, sizeof line, "%s%c%s%c", T1, l1, T2, (char)(0x30 + ((l2 - 0x30 + 1) & 0x0F)));
    GL_CHECK_INT(GL_MSR_LRC, parse(line, 1, &c));
    GL_CHECK_INT(GL_MSR_LRC, parse(T2, 1, &c)); /* LRC missing */
    /* without the option the LRC byte is junk after the track */
    snprintf(line, sizeof line, "%s%c", T2, l2);
    GL_CHECK_INT(GL_MSR_FORMAT, parse(line, 0, &c));
}

GL_TEST(issuer_table_from_config)
{
    struct magstripe_issuer_cfg ic;
    struct gl_cfg_item items[] = {MAGSTRIPE_CFG_ITEMS("cards", &ic)};
    struct magstripe_issuers t;
    char err[GL_CFG_ERR_MAX];

    memset(&ic, 0, sizeof ic);
    GL_CHECK_INT(GL_OK, gl_config_parse_string(
                            "[cards]\nmembership_prefixes = 9410, 94105\n"
                            "brand_prefixes = 6277,941059\n",
                            "t.ini", items, 2, err));
    GL_CHECK_INT(GL_OK, magstripe_issuers_build(&t, &ic));
    GL_CHECK_INT(4, t.n);
    GL_CHECK_INT(MAGSTRIPE_MEMBERSHIP, magstripe_issuers_classify(&t, "9410123456789012"));
    GL_CHECK_INT(MAGSTRIPE_BRAND, magstripe_issuers_classify(&t, "6277001234567890"));
    /* the longest prefix wins */
    GL_CHECK_INT(MAGSTRIPE_MEMBERSHIP, magstripe_issuers_classify(&t, "9410512345678901"));
    GL_CHECK_INT(MAGSTRIPE_BRAND, magstripe_issuers_classify(&t, "9410591234567890"));
    GL_CHECK_INT(MAGSTRIPE_UNKNOWN, magstripe_issuers_classify(&t, "4111111111111111"));

    snprintf(ic.membership, sizeof ic.membership, "94x0");
    GL_CHECK_INT(GL_ECONFIG, magstripe_issuers_build(&t, &ic));
    snprintf(ic.membership, sizeof ic.membership, "9410,");
    GL_CHECK_INT(GL_ECONFIG, magstripe_issuers_build(&t, &ic));
    snprintf(ic.membership, sizeof ic.membership, "9410,9410");
    GL_CHECK_INT(GL_ECONFIG, magstripe_issuers_build(&t, &ic));
    snprintf(ic.membership, sizeof ic.membership, "123456789012");
    GL_CHECK_INT(GL_ECONFIG, magstripe_issuers_build(&t, &ic));
}

/* ---- through libserialport --------------------------------------------- */

static char g_dir[64];

GL_TEST(device)
{
    char link[128];
    struct magstripe_config cfg;
    struct magstripe_issuer_cfg ic = {.membership = "9410", .brand = "6277"};
    struct magstripe m;
    struct magstripe_card c;
    struct semu *e = semu_magstripe_new();

    snprintf(link, sizeof link, "%s/msr", g_dir);
    GL_CHECK(e != NULL && semu_start(e, link) == GL_OK);
    memset(&cfg, 0, sizeof cfg);
    GL_CHECK_INT(GL_OK, magstripe_issuers_build(&cfg.issuers, &ic));
    cfg.lrc = 1;
    GL_CHECK_INT(GL_OK, magstripe_init(&m, &cfg, semu_serial_path(e), NULL, NULL));
    GL_CHECK_INT(GL_OK, magstripe_open(&m));
    semu_command(e, "lrc on", NULL, 0);

    semu_command(e, "card 9410123456789012 HONG/GILDONG 2712 101", NULL, 0);
    GL_CHECK_INT(GL_OK, magstripe_read(&m, &c, WAIT_MS));
    GL_CHECK_STR("9410123456789012", c.pan);
    GL_CHECK_STR("2712", c.expiry);
    GL_CHECK_STR("101", c.service);
    GL_CHECK_STR("HONG/GILDONG", c.name);
    GL_CHECK_INT(MAGSTRIPE_MEMBERSHIP, c.kind);
    magstripe_card_wipe(&c);
    GL_CHECK_STR("", c.pan);

    semu_command(e, "swipe ;6277001234567890=2812201?", NULL, 0);
    GL_CHECK_INT(GL_OK, magstripe_read(&m, &c, WAIT_MS));
    GL_CHECK_INT(MAGSTRIPE_BRAND, c.kind);
    GL_CHECK_STR("201", c.service);

    semu_command(e, "swipe ;4111111111111111=2812201?", NULL, 0);
    GL_CHECK_INT(GL_MSR_ISSUER, magstripe_read(&m, &c, WAIT_MS));
    GL_CHECK_STR("4111111111111111", c.pan);

    /* every bad swipe with its own code, and the reader goes on */
    semu_command(e, "fail 1 lrc", NULL, 0);
    semu_command(e, "card 9410123456789012 HONG/GILDONG 2712 101", NULL, 0);
    GL_CHECK_INT(GL_MSR_LRC, magstripe_read(&m, &c, WAIT_MS));
    semu_command(e, "fail 1 nostart", NULL, 0);
    semu_command(e, "card 9410123456789012 HONG/GILDONG 2712 101", NULL, 0);
    GL_CHECK_INT(GL_MSR_NOSTART, magstripe_read(&m, &c, WAIT_MS));
    semu_command(e, "fail 1 noend", NULL, 0);
    semu_command(e, "card 9410123456789012 HONG/GILDONG 2712 101", NULL, 0);
    GL_CHECK_INT(GL_MSR_NOEND, magstripe_read(&m, &c, WAIT_MS));
    semu_command(e, "fail 1 garbage", NULL, 0);
    semu_command(e, "card 9410123456789012 HONG/GILDONG 2712 101", NULL, 0);
    GL_CHECK_INT(GL_MSR_BADCHAR, magstripe_read(&m, &c, WAIT_MS));
    semu_command(e, "empty", NULL, 0);
    GL_CHECK_INT(GL_MSR_EMPTY, magstripe_read(&m, &c, WAIT_MS));
    semu_command(e, "fail 1 drop", NULL, 0);
    semu_command(e, "card 9410123456789012 HONG/GILDONG 2712 101", NULL, 0);
    GL_CHECK_INT(GL_ETIMEDOUT, magstripe_read(&m, &c, QUIET_MS));
    semu_command(e, "card 9410123456789012 HONG/GILDONG 2712 101", NULL, 0);
    GL_CHECK_INT(GL_OK, magstripe_read(&m, &c, WAIT_MS));

    /* line closed and reopened */
    semu_command(e, "unplug", NULL, 0);
    GL_CHECK_INT(GL_ECLOSED, magstripe_read(&m, &c, WAIT_MS));
    GL_CHECK_INT(GL_DEV_NODEV, magstripe_read(&m, &c, QUIET_MS));
    semu_command(e, "plug", NULL, 0);
    semu_command(e, "card 9410123456789012 HONG/GILDONG 2712 101", NULL, 0);
    GL_CHECK_INT(GL_OK, magstripe_read(&m, &c, WAIT_MS));
    GL_CHECK_STR("9410123456789012", c.pan);

    magstripe_close(&m);
    semu_free(e);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/gl-test-msr-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    GL_RUN(parse_tracks);
    GL_RUN(parse_bad_swipes);
    GL_RUN(lrc);
    GL_RUN(issuer_table_from_config);
    GL_RUN(device);
    rmdir(g_dir);
    return GL_TEST_END();
}
