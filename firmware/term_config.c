/*
 * term_config.c - gl-term.ini (etc/gl-term.ini lists every key with its
 * default).
 */
#include <stdio.h>
#include <string.h>

#include "gl_config.h"
#include "gl_err.h"
#include "gl_log.h"
#include "term.h"

#define S(sec, key, field, req)                                               \
    {sec, key, GL_CFG_STR, c->field, sizeof c->field, 0, 0, req}
#define I(sec, key, field, lo, hi)                                            \
    {sec, key, GL_CFG_INT, &c->field, 0, lo, hi, 0}
#define B(sec, key, field) {sec, key, GL_CFG_BOOL, &c->field, 0, 0, 0, 0}

int term_config_load(struct term_config *c, const char *path, char *err,
                     size_t errlen)
{
    char e[GL_CFG_ERR_MAX];
    memset(c, 0, sizeof *c);
    snprintf(c->cashier, sizeof c->cashier, "01");
    snprintf(c->lang, sizeof c->lang, "ko");
    snprintf(c->header, sizeof c->header, "giftlink");
    c->copies = 2;
    snprintf(c->port, sizeof c->port, "8583");
    c->connect_timeout_s = 10;
    c->response_timeout_s = 30;
    c->close_timeout_s = 60;
    c->echo_idle_s = 60;
    c->repeat_first_s = 30;
    c->repeat_max_s = 300;
    c->signon_retry_s = 300;
    c->reconnect_max_s = 60;
    snprintf(c->scanner_eol, sizeof c->scanner_eol, "any");
    snprintf(c->pinpad, sizeof c->pinpad, "stdin");
    c->present_timeout_s = 30;
    c->pin_timeout_s = 60;
    snprintf(c->log_level, sizeof c->log_level, "info");

    const struct gl_cfg_item items[] = {
        S("terminal", "id", tid, 1),
        S("terminal", "merchant", merchant, 1),
        S("terminal", "cashier", cashier, 0),
        S("terminal", "language", lang, 0),
        S("terminal", "receipt_header", header, 0),
        B("terminal", "offline", offline),
        I("terminal", "floor_limit", floor_limit, 0, 999999999999LL),
        S("terminal", "pin_prefixes", pin_prefixes, 0),
        B("terminal", "card_pin", card_pin),
        I("terminal", "receipt_copies", copies, 1, 2),
        S("host", "address", host, 1),
        S("host", "port", port, 0),
        S("host", "server_cn", server_cn, 1),
        I("host", "connect_timeout", connect_timeout_s, 1, 600),
        I("host", "response_timeout", response_timeout_s, 1, 600),
        I("host", "close_timeout", close_timeout_s, 1, 600),
        I("host", "echo_idle", echo_idle_s, 1, 3600),
        I("host", "repeat_first", repeat_first_s, 1, 3600),
        I("host", "repeat_max", repeat_max_s, 1, 86400),
        I("host", "signon_retry", signon_retry_s, 1, 86400),
        I("host", "reconnect_max", reconnect_max_s, 1, 3600),
        S("tls", "ca", ca, 1),
        S("tls", "cert", cert, 1),
        S("tls", "key", key, 1),
        S("keys", "ikey_file", ikey, 1),
        S("journal", "path", journal, 1),
        S("journal", "export_dir", export_dir, 0),
        S("devices", "scanner", scanner, 0),
        S("devices", "scanner_eol", scanner_eol, 0),
        B("devices", "scanner_aim", scanner_aim),
        S("devices", "magstripe", magstripe, 0),
        B("devices", "magstripe_lrc", magstripe_lrc),
        MAGSTRIPE_CFG_ITEMS("devices", &c->issuers),
        S("devices", "nfc", nfc, 0),
        S("devices", "irda", irda, 0),
        S("devices", "printer", printer, 0),
        S("devices", "pinpad", pinpad, 0),
        I("devices", "present_timeout", present_timeout_s, 1, 600),
        I("devices", "pin_timeout", pin_timeout_s, 5, 600),
        S("log", "level", log_level, 0),
        B("log", "syslog", log_syslog),
    };
    int rc = gl_config_load(path, items, sizeof items / sizeof items[0], e);
    if (rc != GL_OK) {
        snprintf(err, errlen, "%s", e);
        return rc;
    }
    const char *bad = NULL;
    if (strlen(c->tid) != 8) {
        bad = "[terminal] id must be 8 characters (DE 41)";
    } else if (strlen(c->merchant) != 15) {
        bad = "[terminal] merchant must be 15 characters (DE 42)";
    } else if (c->cashier[0] == '\0') {
        bad = "[terminal] cashier must not be empty (DE 48 CA)";
    } else if (strcmp(c->lang, "ko") != 0 && strcmp(c->lang, "en") != 0) {
        bad = "[terminal] language must be ko or en";
    } else if (c->offline && c->floor_limit <= 0) {
        bad = "[terminal] offline = yes needs a floor_limit above 0";
    } else if (gl_log_level_parse(c->log_level) < 0) {
        bad = "[log] level must be error, warn, info or debug";
    } else if (strcmp(c->scanner_eol, "cr") != 0 &&
               strcmp(c->scanner_eol, "lf") != 0 &&
               strcmp(c->scanner_eol, "crlf") != 0 &&
               strcmp(c->scanner_eol, "any") != 0) {
        bad = "[devices] scanner_eol must be cr, lf, crlf or any";
    }
    if (bad != NULL) {
        snprintf(err, errlen, "%s: %s", path, bad);
        return GL_ECONFIG;
    }
    /* "\n" in the header means a line break */
    char *p;
    while ((p = strstr(c->header, "\\n")) != NULL) {
        p[0] = '\n';
        memmove(p + 1, p + 2, strlen(p + 2) + 1);
    }
    return GL_OK;
}
