/*
 * webd_config.c - the configuration table of gl-webd (see webd.h and
 * etc/gl-webd.ini for every key and its default).
 */
#include <stdio.h>
#include <string.h>

#include "gl_config.h"
#include "gl_err.h"
#include "gl_log.h"
#include "webd.h"

#define S(sec, key, field, req)                                                \
    {                                                                          \
        sec, key, GL_CFG_STR, cfg->field, sizeof cfg->field, 0, 0, req         \
    }
#define I(sec, key, field, lo, hi)                                             \
    {                                                                          \
        sec, key, GL_CFG_INT, &cfg->field, 0, lo, hi, 0                        \
    }
#define B(sec, key, field)                                                     \
    {                                                                          \
        sec, key, GL_CFG_BOOL, &cfg->field, 0, 0, 0, 0                         \
    }

int webd_config_load(struct webd_config *cfg, const char *path,
                     char err[GL_CFG_ERR_MAX])
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->address, sizeof cfg->address, "127.0.0.1");
    cfg->port = 8080;
    cfg->max_conns = 1024;
    cfg->conn_timeout = 30;
    cfg->conns_per_ip = 0;
    cfg->max_body = 4096;
    cfg->code_ttl = 300;
    cfg->code_tries = 5;
    cfg->session_ttl = 900;
    cfg->rate_window = 3600;
    cfg->codes_per_phone = 5;
    cfg->codes_per_ip = 20;
    snprintf(cfg->log_level, sizeof cfg->log_level, "info");
    cfg->acq_plain = 0;
    cfg->acq_timeout_ms = 30000;
    cfg->bill_limit = SHOP_DEFAULT_BILL_LIMIT;
    snprintf(cfg->claim_base, sizeof cfg->claim_base,
             "https://giftlink.example/g/");
    cfg->expire_days = GIFT_DEFAULT_DAYS;
    cfg->jobs_period = 60;
    cfg->notice_days = 30;
    cfg->notice_period = 3600;

    const struct gl_cfg_item items[] = {
        S("listen", "address", address, 0),
        I("listen", "port", port, 0, 65535),
        I("listen", "max_conns", max_conns, 1, 100000),
        I("listen", "conn_timeout", conn_timeout, 1, 3600),
        I("listen", "conns_per_ip", conns_per_ip, 0, 100000),
        I("listen", "max_body", max_body, 256, 1024 * 1024),
        S("db", "path", db_path, 1),
        S("keys", "otp_key_file", otp_key_file, 1),
        I("otp", "code_ttl", code_ttl, 30, 3600),
        I("otp", "code_tries", code_tries, 1, 20),
        B("otp", "members_only", members_only),
        I("session", "ttl", session_ttl, 60, 86400),
        I("limits", "window", rate_window, 60, 86400),
        I("limits", "codes_per_phone", codes_per_phone, 1, 1000),
        I("limits", "codes_per_ip", codes_per_ip, 1, 100000),
        S("smsc", "host", smsc_host, 0),
        I("smsc", "port", smsc_port, 0, 65535),
        S("smsc", "system_id", smsc_system_id, 0),
        S("smsc", "password", smsc_password, 0),
        S("smsc", "source_addr", smsc_source, 0),
        S("info", "file", info_file, 0),
        S("log", "level", log_level, 0),
        B("log", "syslog", syslog),
        S("mmsc", "url", mmsc_url, 0),
        S("mmsc", "user", mmsc_user, 0),
        S("mmsc", "password", mmsc_password, 0),
        S("mmsc", "vasp_id", mmsc_vasp_id, 0),
        S("mmsc", "vas_id", mmsc_vas_id, 0),
        S("mmsc", "sender", mmsc_sender, 0),
        S("acquirer", "host", acq_host, 0),
        I("acquirer", "port", acq_port, 0, 65535),
        B("acquirer", "plain", acq_plain),
        S("acquirer", "ca_file", acq_ca_file, 0),
        S("acquirer", "cert_file", acq_cert_file, 0),
        S("acquirer", "key_file", acq_key_file, 0),
        S("acquirer", "server_cn", acq_server_cn, 0),
        S("acquirer", "terminal_id", acq_terminal_id, 0),
        S("acquirer", "merchant_id", acq_merchant_id, 0),
        I("acquirer", "timeout_ms", acq_timeout_ms, 100, 120000),
        I("billing", "monthly_limit", bill_limit, 1, 100000000),
        S("gift", "claim_base", claim_base, 0),
        I("gift", "expire_days", expire_days, 1, 365),
        S("gift", "content_dir", content_dir, 0),
        I("jobs", "period", jobs_period, 1, 86400),
        I("jobs", "notice_days", notice_days, 1, 366),
        I("jobs", "notice_period", notice_period, 1, 86400),
    };
    int rc = gl_config_load(path, items, sizeof items / sizeof items[0], err);
    if (rc != GL_OK) {
        return rc;
    }
    if (gl_log_level_parse(cfg->log_level) < 0) {
        snprintf(err, GL_CFG_ERR_MAX,
                 "%.100s: [log] level: \"%s\" is not one of error, warn, "
                 "info, debug",
                 path, cfg->log_level);
        return GL_ECONFIG;
    }
    if (cfg->smsc_host[0] != '\0' && cfg->smsc_port == 0) {
        snprintf(err, GL_CFG_ERR_MAX,
                 "%.100s: [smsc] port: needed when host is set", path);
        return GL_ECONFIG;
    }
    if (cfg->acq_host[0] != '\0' &&
        (cfg->acq_port == 0 || cfg->acq_terminal_id[0] == '\0' ||
         cfg->acq_merchant_id[0] == '\0')) {
        snprintf(err, GL_CFG_ERR_MAX,
                 "%.100s: [acquirer] port, terminal_id and merchant_id: "
                 "needed when host is set",
                 path);
        return GL_ECONFIG;
    }
    if (cfg->acq_host[0] != '\0' && !cfg->acq_plain &&
        (cfg->acq_ca_file[0] == '\0' || cfg->acq_cert_file[0] == '\0' ||
         cfg->acq_key_file[0] == '\0')) {
        snprintf(err, GL_CFG_ERR_MAX,
                 "%.100s: [acquirer] ca_file, cert_file and key_file: "
                 "needed unless plain = yes",
                 path);
        return GL_ECONFIG;
    }
    return GL_OK;
}
