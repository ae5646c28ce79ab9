/*
 * hostd_config.c - the configuration table of gl-hostd (see hostd.h and
 * etc/gl-hostd.ini for every key and its default).
 */
#include "hostd.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "gl_config.h"
#include "gl_err.h"
#include "gl_log.h"

#define S(sec, key, field, req)                                               \
    {sec, key, GL_CFG_STR, cfg->field, sizeof cfg->field, 0, 0, req}
#define I(sec, key, field, lo, hi)                                            \
    {sec, key, GL_CFG_INT, &cfg->field, 0, lo, hi, 0}

int hostd_config_load(struct hostd_config *cfg, const char *path, char *err)
{
    enum crypto_key_type kt;
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->port, sizeof cfg->port, "8583");
    /* One event loop: more loops share one ledger writer, and on the 2-core
     * bench machine two measured slower (docs/BENCHMARKS.md). */
    cfg->loops = 1;
    cfg->backlog = 512;
    snprintf(cfg->bdk_type, sizeof cfg->bdk_type, "aes128");
    cfg->void_window = 24 * 3600;
    cfg->hold_timeout = 120 * 60;
    cfg->reload_max = 2000000;
    cfg->frame_timeout = 30;
    cfg->idle_timeout = 180;
    cfg->handshake_timeout = 10;
    cfg->mac_failures = 3;
    cfg->max_conns = 4096;
    cfg->term_declines = 10;
    cfg->term_window = 600;
    cfg->term_cooldown = 600;
    cfg->voucher_declines = 5;
    cfg->voucher_window = 60;
    cfg->voucher_cooldown = 600;
    snprintf(cfg->log_level, sizeof cfg->log_level, "info");

    const struct gl_cfg_item items[] = {
        S("listen", "address", address, 0),
        S("listen", "port", port, 0),
        I("listen", "loops", loops, 1, 64),
        I("listen", "backlog", backlog, 1, 65535),
        S("tls", "ca", ca_file, 1),
        S("tls", "cert", cert_file, 1),
        S("tls", "key", key_file, 1),
        S("db", "path", db_path, 1),
        S("keys", "bdk_file", bdk_file, 1),
        S("keys", "bdk_type", bdk_type, 0),
        S("keys", "pin_key_file", pin_key_file, 0),
        S("keys", "imk_file", imk_file, 0),
        I("policy", "void_window", void_window, 0, 400LL * 86400),
        I("policy", "hold_timeout", hold_timeout, 1, 7 * 86400),
        I("policy", "reload_max", reload_max, 1, 999999999999LL),
        I("policy", "frame_timeout", frame_timeout, 1, 3600),
        I("policy", "idle_timeout", idle_timeout, 1, 86400),
        I("policy", "handshake_timeout", handshake_timeout, 1, 3600),
        I("policy", "mac_failures", mac_failures, 1, 1000),
        I("policy", "max_conns", max_conns, 1, 100000),
        I("limits", "term_declines", term_declines, 1, 1000000),
        I("limits", "term_window", term_window, 1, 86400),
        I("limits", "term_cooldown", term_cooldown, 0, 86400),
        I("limits", "voucher_declines", voucher_declines, 1, 1000000),
        I("limits", "voucher_window", voucher_window, 1, 86400),
        I("limits", "voucher_cooldown", voucher_cooldown, 0, 86400),
        S("log", "level", log_level, 0),
        {"log", "syslog", GL_CFG_BOOL, &cfg->syslog, 0, 0, 0, 0},
    };
    int rc = gl_config_load(path, items, sizeof items / sizeof items[0], err);
    if (rc != GL_OK) {
        return rc;
    }
    if (gl_log_level_parse(cfg->log_level) < 0) {
        snprintf(err, GL_CFG_ERR_MAX, "%.100s: [log] level: \"%s\" is not one of "
                 "error, warn, info, debug", path, cfg->log_level);
        return GL_ECONFIG;
    }
    if (crypto_key_type_parse(cfg->bdk_type, &kt) != GL_OK ||
        (kt != CRYPTO_KEY_AES128 && kt != CRYPTO_KEY_AES256 &&
         kt != CRYPTO_KEY_TDES2)) {
        snprintf(err, GL_CFG_ERR_MAX, "%.100s: [keys] bdk_type: \"%s\" is not "
                 "aes128, aes256 or tdes", path, cfg->bdk_type);
        return GL_ECONFIG;
    }
    return GL_OK;
}
