/*
 * glctl_registry.c - glctl commands for merchants, stores, terminals,
 * products, members, vouchers and the ledger (contract in glctl_registry.h).
 */
#include "glctl_registry.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"

#include "gl_err.h"
#include "gift.h"
#include "gl_log.h"
#include "ledger.h"
#include "registry.h"
#include "online.h"
#include "shop.h"
#include "store.h"

const struct glctl_registry_cmd glctl_registry_cmds[] = {
    {"merchant", "add", "add a merchant: --id ID --name NAME [--group G]..."},
    {"merchant", "list", "list merchants"},
    {"merchant", "show", "show a merchant and its payable: --id ID"},
    {"store", "add", "add a store: --merchant ID --code CODE --name NAME"},
    {"store", "list", "list stores [--merchant ID]"},
    {"terminal", "add",
     "add a terminal: --id TID --merchant ID [--store CODE] [--cn CN]"
     " [--key-id KEYID]"},
    {"terminal", "list", "list terminals"},
    {"terminal", "show", "show a terminal: --id TID"},
    {"terminal", "disable", "refuse a terminal: --id TID"},
    {"terminal", "enable", "accept a terminal again: --id TID"},
    {"product", "add",
     "add a product: --id ID --issuer I --brand B --type"
     " department|books|culture|carrier --prefix DIGITS --face A[,B...]"
     " --validity-days N [--partial] [--group G]..."},
    {"product", "list", "list products"},
    {"product", "show", "show a product: --id ID"},
    {"member", "add",
     "add a member: --phone PHONE [--card NO --card-kind membership|brand]"},
    {"member", "card",
     "link a card: --phone PHONE --card NO --card-kind membership|brand"},
    {"member", "list", "list members"},
    {"voucher", "issue",
     "issue vouchers: --product P --count N [--face A] [--member PHONE]"
     " [--pin-file F] [--channel phone_bill|card|counter_cash] [--unfunded]"},
    {"voucher", "show", "show a voucher: NUMBER"},
    {"voucher", "freeze", "freeze a voucher: NUMBER"},
    {"voucher", "unfreeze", "unfreeze a voucher (clears a PIN lockout): NUMBER"},
    {"voucher", "cancel", "cancel a voucher: NUMBER"},
    {"voucher", "history", "a voucher's transfers: NUMBER"},
    {"voucher", "list", "list vouchers [--member PHONE]"},
    {"voucher", "usable",
     "a member's vouchers accepted at a merchant, earliest expiry first:"
     " --member PHONE --merchant ID"},
    {"ledger", "check", "check the ledger; exit 1 with the report if unclean"},
    {"ledger", "overdrafts", "list offline-overdraft transfers"},
    {"ledger", "expire", "release holds past their timeout"},
    {"billing", "statement",
     "the carrier's phone-bill statement of a month as CSV: --month YYYY-MM"},
    {"payout", "export",
     "the due cash-out payouts as the bank transfer CSV, marked exported:"
     " --out FILE (must not exist)"},
    {"content", "add",
     "add a gift add-on: --kind ring_tone|theme_card|background_music|"
     "character --title T --mime TYPE --file PATH --dir CONTENT_DIR"},
};
const unsigned glctl_registry_ncmds =
    sizeof glctl_registry_cmds / sizeof glctl_registry_cmds[0];

/* ---- options ---------------------------------------------------------- */

#define GR_MAX_OPTS 32
#define GR_MAX_POS 8

struct gr_opts {
    const char *name[GR_MAX_OPTS];
    const char *value[GR_MAX_OPTS];
    int n;
    const char *pos[GR_MAX_POS];
    int npos;
    int json, help, partial, unfunded;
};

/* Options that take no value. */
static int gr_is_flag(const char *name)
{
    return strcmp(name, "json") == 0 || strcmp(name, "help") == 0 ||
           strcmp(name, "partial") == 0 || strcmp(name, "unfunded") == 0;
}

static int gr_parse(int argc, char **argv, struct gr_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0) {
            o->help = 1;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            if (o->npos == GR_MAX_POS) {
                return -1;
            }
            o->pos[o->npos++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        if (eq == NULL && gr_is_flag(name)) {
            o->json |= strcmp(name, "json") == 0;
            o->help |= strcmp(name, "help") == 0;
            o->partial |= strcmp(name, "partial") == 0;
            o->unfunded |= strcmp(name, "unfunded") == 0;
            continue;
        }
        if (o->n == GR_MAX_OPTS) {
            return -1;
        }
        if (eq != NULL) {
            /* --name=value: keep the name NUL-free by pointing into argv */
            argv[i][2 + (eq - name)] = '\0';
            o->name[o->n] = name;
            o->value[o->n++] = eq + 1;
        } else {
            if (i + 1 >= argc) {
                fprintf(stderr, "glctl: --%s needs a value\n", name);
                return -1;
            }
            o->name[o->n] = name;
            o->value[o->n++] = argv[++i];
        }
    }
    return 0;
}

/* The idx-th value of --name, or NULL. */
static const char *gr_opt_nth(const struct gr_opts *o, const char *name,
                              int idx)
{
    for (int i = 0; i < o->n; i++) {
        if (strcmp(o->name[i], name) == 0 && idx-- == 0) {
            return o->value[i];
        }
    }
    return NULL;
}

static const char *gr_opt(const struct gr_opts *o, const char *name)
{
    return gr_opt_nth(o, name, 0);
}

static int gr_int(const char *s, int64_t *out)
{
    char *end = NULL;
    long long v;
    if (s == NULL || *s == '\0') {
        return -1;
    }
    v = strtoll(s, &end, 10);
    if (*end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- JSON ------------------------------------------------------------- */

static void gr_json_str(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            printf("\\%c", *p);
        } else if (*p < 0x20) {
            printf("\\u%04x", *p);
        } else {
            putchar(*p);
        }
    }
    putchar('"');
}

static void gr_json_kv_str(const char *k, const char *v, int comma)
{
    printf("%s\"%s\":", comma ? "," : "", k);
    gr_json_str(v);
}

static void gr_json_kv_int(const char *k, int64_t v, int comma)
{
    printf("%s\"%s\":%" PRId64, comma ? "," : "", k, v);
}

/* ---- context ---------------------------------------------------------- */

struct gr_ctx {
    struct store st;
    struct ledger lg;
    struct registry reg;
    struct gr_opts o;
    int open;
    int first; /* JSON arrays: no comma before the first element */
};

static int gr_fail(const char *what, int rc)
{
    fprintf(stderr, "glctl: %s: %s (%s)\n", what, gl_strerror(rc),
            gl_errname(rc));
    return 1;
}

static int gr_read_file(const char *path, uint8_t *buf, size_t cap,
                        size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t n;
    if (f == NULL) {
        return GL_ENOTFOUND;
    }
    n = fread(buf, 1, cap, f);
    fclose(f);
    *len = n;
    return GL_OK;
}

static int gr_open(struct gr_ctx *c, int need_key)
{
    const char *db = gr_opt(&c->o, "db");
    const char *keyfile = gr_opt(&c->o, "pin-key");
    uint8_t key[REGISTRY_PIN_KEY_MAX + 1];
    size_t keylen = 0;
    struct registry_config rcfg = {0};
    int rc;

    if (db == NULL) {
        db = getenv("GL_DB");
    }
    if (db == NULL || db[0] == '\0') {
        db = "./giftlink.db";
    }
    if (keyfile == NULL) {
        keyfile = getenv("GL_PIN_KEY_FILE");
    }
    if (need_key) {
        if (keyfile == NULL || keyfile[0] == '\0') {
            fprintf(stderr, "glctl: PINs need --pin-key FILE "
                            "(or GL_PIN_KEY_FILE)\n");
            return 2;
        }
        rc = gr_read_file(keyfile, key, sizeof key, &keylen);
        if (rc != GL_OK || keylen < 16 || keylen > REGISTRY_PIN_KEY_MAX) {
            fprintf(stderr, "glctl: %s: PIN key must be 16..64 bytes\n",
                    keyfile);
            crypto_wipe(key, sizeof key);
            return 1;
        }
        rcfg.pin_key = key;
        rcfg.pin_key_len = keylen;
    }
    rc = store_open(&c->st, NULL, NULL, db);
    if (rc != GL_OK) {
        fprintf(stderr, "glctl: %s: %s (%s)\n", db, gl_strerror(rc),
                store_errmsg(&c->st));
        crypto_wipe(key, sizeof key);
        return 1;
    }
    ledger_init(&c->lg, &c->st, NULL);
    rc = registry_init(&c->reg, &c->lg, &rcfg);
    crypto_wipe(key, sizeof key);
    c->open = 1;
    if (rc != GL_OK) {
        return gr_fail("registry", rc);
    }
    return 0;
}

static void gr_close(struct gr_ctx *c)
{
    if (c->open) {
        registry_deinit(&c->reg);
        ledger_deinit(&c->lg);
        store_close(&c->st);
        c->open = 0;
    }
}

static const char *gr_mask(char out[GL_MASK_MAX], const char *number)
{
    return gl_mask_pan(out, number, strlen(number));
}

static void gr_time(char out[32], int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int gr_need(const struct gr_opts *o, const char *const *names)
{
    for (; *names != NULL; names++) {
        if (gr_opt(o, *names) == NULL) {
            fprintf(stderr, "glctl: missing --%s (see --help)\n", *names);
            return 2;
        }
    }
    return 0;
}

/* ---- merchant, store, terminal ---------------------------------------- */

static void gr_merchant_print(struct gr_ctx *c,
                              const struct registry_merchant *m,
                              int64_t balance)
{
    if (c->o.json) {
        printf("%s{", c->first ? "" : ",");
        gr_json_kv_str("id", m->id, 0);
        gr_json_kv_str("name", m->name, 1);
        gr_json_kv_str("groups", m->groups, 1);
        gr_json_kv_int("account", m->account, 1);
        if (balance != INT64_MIN) {
            gr_json_kv_int("payable", balance, 1);
        }
        printf("}");
    } else {
        printf("%-12s %-24s groups=%s account=%" PRId64, m->id, m->name,
               m->groups, m->account);
        if (balance != INT64_MIN) {
            printf(" payable=%" PRId64, balance);
        }
        printf("\n");
    }
    c->first = 0;
}

static int gr_merchant_cb(void *ctx, const struct registry_merchant *m)
{
    gr_merchant_print(ctx, m, INT64_MIN);
    return 0;
}

static int gr_merchant(struct gr_ctx *c, const char *cmd)
{
    int rc;
    if (strcmp(cmd, "add") == 0) {
        const char *need[] = {"id", "name", NULL};
        const char *groups[REGISTRY_MAX_GROUPS];
        size_t ng = 0;
        if ((rc = gr_need(&c->o, need)) != 0) {
            return rc;
        }
        while (ng < REGISTRY_MAX_GROUPS &&
               (groups[ng] = gr_opt_nth(&c->o, "group", (int)ng)) != NULL) {
            ng++;
        }
        rc = registry_merchant_add(&c->reg, gr_opt(&c->o, "id"),
                                   gr_opt(&c->o, "name"), groups, ng);
        if (rc != GL_OK) {
            return gr_fail("merchant add", rc);
        }
        cmd = "show";
    }
    if (strcmp(cmd, "show") == 0) {
        struct registry_merchant m;
        struct ledger_account a;
        const char *need[] = {"id", NULL};
        if ((rc = gr_need(&c->o, need)) != 0) {
            return rc;
        }
        rc = registry_merchant_get(&c->reg, gr_opt(&c->o, "id"), &m);
        if (rc == GL_OK) {
            rc = ledger_account_get(&c->lg, m.account, &a);
        }
        if (rc != GL_OK) {
            return gr_fail("merchant", rc);
        }
        c->first = 1;
        gr_merchant_print(c, &m, a.balance);
        if (c->o.json) {
            printf("\n");
        }
        return 0;
    }
    if (strcmp(cmd, "list") == 0) {
        c->first = 1;
        printf(c->o.json ? "[" : "");
        rc = registry_merchant_list(&c->reg, gr_merchant_cb, c);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("merchant list", rc);
    }
    return -1;
}

static int gr_store_cb(void *ctx, const struct registry_store *s)
{
    struct gr_ctx *c = ctx;
    if (c->o.json) {
        printf("%s{", c->first ? "" : ",");
        gr_json_kv_int("id", s->id, 0);
        gr_json_kv_str("merchant", s->merchant, 1);
        gr_json_kv_str("code", s->code, 1);
        gr_json_kv_str("name", s->name, 1);
        printf("}");
    } else {
        printf("%-12s %-8s %s\n", s->merchant, s->code, s->name);
    }
    c->first = 0;
    return 0;
}

static int gr_store(struct gr_ctx *c, const char *cmd)
{
    int rc;
    if (strcmp(cmd, "add") == 0) {
        const char *need[] = {"merchant", "code", "name", NULL};
        int64_t id = 0;
        if ((rc = gr_need(&c->o, need)) != 0) {
            return rc;
        }
        rc = registry_store_add(&c->reg, gr_opt(&c->o, "merchant"),
                                gr_opt(&c->o, "code"), gr_opt(&c->o, "name"),
                                &id);
        if (rc != GL_OK) {
            return gr_fail("store add", rc);
        }
        struct registry_store s = {.id = id};
        snprintf(s.merchant, sizeof s.merchant, "%s",
                 gr_opt(&c->o, "merchant"));
        snprintf(s.code, sizeof s.code, "%s", gr_opt(&c->o, "code"));
        snprintf(s.name, sizeof s.name, "%s", gr_opt(&c->o, "name"));
        c->first = 1;
        gr_store_cb(c, &s);
        printf(c->o.json ? "\n" : "");
        return 0;
    }
    if (strcmp(cmd, "list") == 0) {
        c->first = 1;
        printf(c->o.json ? "[" : "");
        rc = registry_store_list(&c->reg, gr_opt(&c->o, "merchant"),
                                 gr_store_cb, c);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("store list", rc);
    }
    return -1;
}

static int gr_terminal_cb(void *ctx, const struct registry_terminal *t)
{
    struct gr_ctx *c = ctx;
    const char *status = t->status == REGISTRY_T_ACTIVE ? "active" : "disabled";
    if (c->o.json) {
        printf("%s{", c->first ? "" : ",");
        gr_json_kv_str("id", t->id, 0);
        gr_json_kv_str("merchant", t->merchant, 1);
        gr_json_kv_str("store", t->store, 1);
        gr_json_kv_str("cert_cn", t->cert_cn, 1);
        gr_json_kv_str("key_id", t->key_id, 1);
        gr_json_kv_str("status", status, 1);
        gr_json_kv_int("batch", t->batch_no, 1);
        printf("}");
    } else {
        printf("%-10s merchant=%s store=%s cn=%s key=%s %s batch=%" PRId64
               "\n",
               t->id, t->merchant, t->store, t->cert_cn, t->key_id, status,
               t->batch_no);
    }
    c->first = 0;
    return 0;
}

static int gr_terminal(struct gr_ctx *c, const char *cmd)
{
    int rc;
    const char *need[] = {"id", NULL};
    if (strcmp(cmd, "add") == 0) {
        const char *needa[] = {"id", "merchant", NULL};
        struct registry_terminal t = {0};
        if ((rc = gr_need(&c->o, needa)) != 0) {
            return rc;
        }
        const char *v;
        snprintf(t.id, sizeof t.id, "%s", gr_opt(&c->o, "id"));
        snprintf(t.merchant, sizeof t.merchant, "%s",
                 gr_opt(&c->o, "merchant"));
        if ((v = gr_opt(&c->o, "store")) != NULL) {
            snprintf(t.store, sizeof t.store, "%s", v);
        }
        if ((v = gr_opt(&c->o, "cn")) != NULL) {
            snprintf(t.cert_cn, sizeof t.cert_cn, "%s", v);
        }
        if ((v = gr_opt(&c->o, "key-id")) != NULL) {
            snprintf(t.key_id, sizeof t.key_id, "%s", v);
        }
        rc = registry_terminal_add(&c->reg, &t);
        if (rc != GL_OK) {
            return gr_fail("terminal add", rc);
        }
        cmd = "show";
    }
    if (strcmp(cmd, "disable") == 0 || strcmp(cmd, "enable") == 0) {
        if ((rc = gr_need(&c->o, need)) != 0) {
            return rc;
        }
        rc = registry_terminal_set_status(
            &c->reg, gr_opt(&c->o, "id"),
            cmd[0] == 'd' ? REGISTRY_T_DISABLED : REGISTRY_T_ACTIVE);
        if (rc != GL_OK) {
            return gr_fail("terminal", rc);
        }
        cmd = "show";
    }
    if (strcmp(cmd, "show") == 0) {
        struct registry_terminal t;
        if ((rc = gr_need(&c->o, need)) != 0) {
            return rc;
        }
        rc = registry_terminal_get(&c->reg, gr_opt(&c->o, "id"), &t);
        if (rc != GL_OK) {
            return gr_fail("terminal", rc);
        }
        c->first = 1;
        gr_terminal_cb(c, &t);
        printf(c->o.json ? "\n" : "");
        return 0;
    }
    if (strcmp(cmd, "list") == 0) {
        c->first = 1;
        printf(c->o.json ? "[" : "");
        rc = registry_terminal_list(&c->reg, gr_terminal_cb, c);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("terminal list", rc);
    }
    return -1;
}

/* ---- product ---------------------------------------------------------- */

static int gr_product_cb(void *ctx, const struct registry_product *p)
{
    struct gr_ctx *c = ctx;
    if (c->o.json) {
        printf("%s{", c->first ? "" : ",");
        gr_json_kv_str("id", p->id, 0);
        gr_json_kv_str("issuer", p->issuer, 1);
        gr_json_kv_str("brand", p->brand, 1);
        gr_json_kv_str("type", registry_type_name(p->type), 1);
        gr_json_kv_str("prefix", p->prefix, 1);
        gr_json_kv_int("validity_days", p->validity_days, 1);
        printf(",\"partial\":%s,\"faces\":[", p->partial_ok ? "true" : "false");
        for (size_t i = 0; i < p->nfaces; i++) {
            printf("%s%" PRId64, i ? "," : "", p->faces[i]);
        }
        printf("],\"groups\":[");
        for (size_t i = 0; i < p->ngroups; i++) {
            printf("%s", i ? "," : "");
            gr_json_str(p->groups[i]);
        }
        printf("]}");
    } else {
        printf("%-10s %-12s %-12s %-10s prefix=%s days=%d partial=%s faces=",
               p->id, p->issuer, p->brand, registry_type_name(p->type),
               p->prefix, p->validity_days, p->partial_ok ? "yes" : "no");
        for (size_t i = 0; i < p->nfaces; i++) {
            printf("%s%" PRId64, i ? "," : "", p->faces[i]);
        }
        printf(" groups=");
        for (size_t i = 0; i < p->ngroups; i++) {
            printf("%s%s", i ? "," : "", p->groups[i]);
        }
        printf("\n");
    }
    c->first = 0;
    return 0;
}

static int gr_product(struct gr_ctx *c, const char *cmd)
{
    int rc;
    if (strcmp(cmd, "add") == 0) {
        const char *need[] = {"id",     "issuer", "brand",         "type",
                              "prefix", "face",   "validity-days", NULL};
        struct registry_product p = {0};
        int64_t days = 0;
        if ((rc = gr_need(&c->o, need)) != 0) {
            return rc;
        }
        snprintf(p.id, sizeof p.id, "%s", gr_opt(&c->o, "id"));
        snprintf(p.issuer, sizeof p.issuer, "%s", gr_opt(&c->o, "issuer"));
        snprintf(p.brand, sizeof p.brand, "%s", gr_opt(&c->o, "brand"));
        snprintf(p.prefix, sizeof p.prefix, "%s", gr_opt(&c->o, "prefix"));
        p.type = registry_type_parse(gr_opt(&c->o, "type"));
        if (p.type < 0 || gr_int(gr_opt(&c->o, "validity-days"), &days) != 0) {
            fprintf(stderr, "glctl: bad --type or --validity-days\n");
            return 2;
        }
        p.validity_days = (int)days;
        p.partial_ok = c->o.partial;
        char faces[256];
        snprintf(faces, sizeof faces, "%s", gr_opt(&c->o, "face"));
        for (char *save = NULL, *tok = strtok_r(faces, ",", &save);
             tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            if (p.nfaces == REGISTRY_MAX_FACES ||
                gr_int(tok, &p.faces[p.nfaces]) != 0) {
                fprintf(stderr, "glctl: bad --face\n");
                return 2;
            }
            p.nfaces++;
        }
        const char *g;
        while (p.ngroups < REGISTRY_MAX_GROUPS &&
               (g = gr_opt_nth(&c->o, "group", (int)p.ngroups)) != NULL) {
            snprintf(p.groups[p.ngroups++], sizeof p.groups[0], "%s", g);
        }
        rc = registry_product_add(&c->reg, &p);
        if (rc != GL_OK) {
            return gr_fail("product add", rc);
        }
        cmd = "show";
    }
    if (strcmp(cmd, "show") == 0) {
        struct registry_product p;
        const char *need[] = {"id", NULL};
        if ((rc = gr_need(&c->o, need)) != 0) {
            return rc;
        }
        rc = registry_product_get(&c->reg, gr_opt(&c->o, "id"), &p);
        if (rc != GL_OK) {
            return gr_fail("product", rc);
        }
        c->first = 1;
        gr_product_cb(c, &p);
        printf(c->o.json ? "\n" : "");
        return 0;
    }
    if (strcmp(cmd, "list") == 0) {
        c->first = 1;
        printf(c->o.json ? "[" : "");
        rc = registry_product_list(&c->reg, gr_product_cb, c);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("product list", rc);
    }
    return -1;
}

/* ---- member ----------------------------------------------------------- */

static int gr_card_kind(const char *s)
{
    if (s == NULL || strcmp(s, "membership") == 0) {
        return REGISTRY_CARD_MEMBERSHIP;
    }
    return strcmp(s, "brand") == 0 ? REGISTRY_CARD_BRAND : -1;
}

static int gr_member_cb(void *ctx, const struct registry_member *m)
{
    struct gr_ctx *c = ctx;
    if (c->o.json) {
        printf("%s{", c->first ? "" : ",");
        gr_json_kv_int("id", m->id, 0);
        gr_json_kv_str("phone", m->phone, 1);
        gr_json_kv_int("cards", m->cards, 1);
        gr_json_kv_int("vouchers", m->vouchers, 1);
        printf("}");
    } else {
        printf("%-6" PRId64 " %-16s cards=%" PRId64 " vouchers=%" PRId64 "\n",
               m->id, m->phone, m->cards, m->vouchers);
    }
    c->first = 0;
    return 0;
}

static int gr_member(struct gr_ctx *c, const char *cmd)
{
    int rc;
    if (strcmp(cmd, "add") == 0 || strcmp(cmd, "card") == 0) {
        const char *need[] = {"phone", NULL};
        const char *needc[] = {"phone", "card", NULL};
        const char *phone = gr_opt(&c->o, "phone");
        const char *card = gr_opt(&c->o, "card");
        int kind = gr_card_kind(gr_opt(&c->o, "card-kind"));
        int64_t id = 0;
        if ((rc = gr_need(&c->o, cmd[0] == 'a' ? need : needc)) != 0) {
            return rc;
        }
        if (kind < 0) {
            fprintf(stderr, "glctl: --card-kind is membership or brand\n");
            return 2;
        }
        if (cmd[0] == 'a') {
            rc = registry_member_add(&c->reg, phone, &id);
            if (rc != GL_OK) {
                return gr_fail("member add", rc);
            }
        } else if ((rc = registry_member_find(&c->reg, phone, &id)) !=
                   GL_OK) {
            return gr_fail("member", rc);
        }
        if (card != NULL) {
            rc = registry_member_card_add(&c->reg, phone, card, kind);
            if (rc != GL_OK) {
                return gr_fail("member card", rc);
            }
        }
        if (c->o.json) {
            printf("{");
            gr_json_kv_int("id", id, 0);
            gr_json_kv_str("phone", phone, 1);
            printf("}\n");
        } else {
            printf("member %" PRId64 " %s\n", id, phone);
        }
        return 0;
    }
    if (strcmp(cmd, "list") == 0) {
        c->first = 1;
        printf(c->o.json ? "[" : "");
        rc = registry_member_list(&c->reg, gr_member_cb, c);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("member list", rc);
    }
    return -1;
}

/* ---- voucher ---------------------------------------------------------- */

/* full: print the whole number (issue only). */
static void gr_voucher_print(struct gr_ctx *c, const struct registry_voucher *v,
                             int full)
{
    char m[GL_MASK_MAX], exp[32];
    const char *num = full ? v->number : gr_mask(m, v->number);
    gr_time(exp, v->expires);
    if (c->o.json) {
        printf("%s{", c->first ? "" : ",");
        gr_json_kv_str("number", num, 0);
        gr_json_kv_str("product", v->product, 1);
        gr_json_kv_int("face", v->face, 1);
        gr_json_kv_int("balance", v->balance, 1);
        gr_json_kv_int("available", v->available, 1);
        gr_json_kv_str("member", v->member_phone, 1);
        gr_json_kv_str("status", registry_status_name(v->status), 1);
        printf(",\"pin\":%s,\"locked\":%s", v->has_pin ? "true" : "false",
               v->pin_tries >= REGISTRY_PIN_TRIES ? "true" : "false");
        gr_json_kv_str("expires", exp, 1);
        gr_json_kv_int("account", v->account, 1);
        printf("}");
    } else {
        printf("%s %-8s face=%" PRId64 " balance=%" PRId64
               " available=%" PRId64 " %s%s%s expires=%s owner=%s\n",
               num, v->product, v->face, v->balance, v->available,
               registry_status_name(v->status), v->has_pin ? " pin" : "",
               v->pin_tries >= REGISTRY_PIN_TRIES ? " locked" : "", exp,
               v->member_phone[0] ? v->member_phone : "bearer");
    }
    c->first = 0;
}

static int gr_voucher_cb(void *ctx, const struct registry_voucher *v)
{
    gr_voucher_print(ctx, v, 0);
    return 0;
}

static const char *gr_kind_name(int kind)
{
    static const char *const names[] = {
        "?",        "issue",  "redeem", "refund",   "reload", "cashout",
        "breakage", "activate", "adjust", "settle", "expire"};
    return kind >= 1 && kind <= 10 ? names[kind] : names[0];
}

struct gr_hist {
    struct gr_ctx *c;
    int64_t account;
};

static int gr_history_cb(void *ctx, const struct ledger_transfer_row *r)
{
    struct gr_hist *h = ctx;
    struct gr_ctx *c = h->c;
    char when[32], flags[96] = "";
    int64_t delta = 0;
    int moving = !(r->flags & (LEDGER_F_PENDING | LEDGER_F_VOID));
    if (moving) {
        delta = r->credit == h->account ? r->amount : -r->amount;
    }
    gr_time(when, r->created);
    snprintf(flags, sizeof flags, "%s%s%s%s%s",
             r->flags & LEDGER_F_PENDING ? "hold " : "",
             r->flags & LEDGER_F_POST ? "post " : "",
             r->flags & LEDGER_F_VOID ? "void " : "",
             r->flags & LEDGER_F_EXPIRED ? "expired " : "",
             r->flags & LEDGER_F_OFFLINE_OVERDRAFT ? "offline-overdraft "
                                                   : "");
    size_t fl = strlen(flags);
    if (fl > 0) {
        flags[fl - 1] = '\0';
    }
    if (c->o.json) {
        printf("%s{", c->first ? "" : ",");
        gr_json_kv_int("seq", r->seq, 0);
        gr_json_kv_str("id", r->id, 1);
        gr_json_kv_str("kind", gr_kind_name(r->kind), 1);
        gr_json_kv_str("flags", flags, 1);
        gr_json_kv_int("amount", r->amount, 1);
        gr_json_kv_int("delta", delta, 1);
        gr_json_kv_int("debit", r->debit, 1);
        gr_json_kv_int("credit", r->credit, 1);
        gr_json_kv_str("created", when, 1);
        printf("}");
    } else {
        printf("%-6" PRId64 " %s %-8s %+10" PRId64 " amount=%" PRId64
               " %-24s %s\n",
               r->seq, when, gr_kind_name(r->kind), delta, r->amount, r->id,
               flags);
    }
    c->first = 0;
    return 0;
}

static int gr_voucher_issue(struct gr_ctx *c)
{
    const char *need[] = {"product", "count", NULL};
    const char *pinfile = gr_opt(&c->o, "pin-file");
    char pins[1000][16];
    int npins = 0, rc;
    int64_t count = 0, face = 0;
    struct registry_product p;
    struct registry_voucher v;

    if ((rc = gr_need(&c->o, need)) != 0) {
        return rc;
    }
    if (gr_int(gr_opt(&c->o, "count"), &count) != 0 || count < 1 ||
        count > 100000) {
        fprintf(stderr, "glctl: --count is 1..100000\n");
        return 2;
    }
    if (pinfile != NULL) {
        FILE *f = fopen(pinfile, "r");
        char line[64];
        if (f == NULL) {
            fprintf(stderr, "glctl: cannot read %s\n", pinfile);
            return 1;
        }
        while (npins < 1000 && fgets(line, sizeof line, f) != NULL) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] != '\0') {
                snprintf(pins[npins++], sizeof pins[0], "%.15s", line);
            }
        }
        crypto_wipe(line, sizeof line);
        fclose(f);
        if (npins != 1 && npins != count) {
            fprintf(stderr,
                    "glctl: %s: one PIN for all, or one per voucher "
                    "(%d lines for %" PRId64 " vouchers)\n",
                    pinfile, npins, count);
            rc = 2;
            goto out;
        }
    }
    rc = registry_product_get(&c->reg, gr_opt(&c->o, "product"), &p);
    if (rc != GL_OK) {
        rc = gr_fail("product", rc);
        goto out;
    }
    if (gr_opt(&c->o, "face") != NULL) {
        if (gr_int(gr_opt(&c->o, "face"), &face) != 0) {
            fprintf(stderr, "glctl: bad --face\n");
            rc = 2;
            goto out;
        }
    } else {
        face = p.faces[0];
    }
    /* All or nothing: one transaction for the whole run. */
    rc = ledger_batch_begin(&c->lg);
    if (rc != GL_OK) {
        rc = gr_fail("voucher issue", rc);
        goto out;
    }
    c->first = 1;
    printf(c->o.json ? "[" : "");
    for (int64_t i = 0; i < count; i++) {
        struct registry_issue req = {
            .product = p.id,
            .face = face,
            .channel = gr_opt(&c->o, "channel"),
            .member = gr_opt(&c->o, "member"),
            .pin = npins == 0 ? NULL : pins[npins == 1 ? 0 : i],
            .unfunded = c->o.unfunded,
        };
        rc = registry_voucher_issue(&c->reg, &req, &v);
        if (rc != GL_OK) {
            ledger_batch_rollback(&c->lg);
            printf(c->o.json ? "]\n" : "");
            rc = gr_fail("voucher issue (nothing was issued)", rc);
            goto out;
        }
        gr_voucher_print(c, &v, 1);
    }
    rc = ledger_batch_commit(&c->lg);
    printf(c->o.json ? "]\n" : "");
    rc = rc == GL_OK ? 0 : gr_fail("voucher issue (nothing was issued)", rc);
out:
    crypto_wipe(pins, sizeof pins);
    return rc;
}

static int gr_voucher(struct gr_ctx *c, const char *cmd)
{
    struct registry_voucher v;
    int rc;
    if (strcmp(cmd, "issue") == 0) {
        return gr_voucher_issue(c);
    }
    if (strcmp(cmd, "list") == 0) {
        c->first = 1;
        printf(c->o.json ? "[" : "");
        rc = registry_voucher_list(&c->reg, gr_opt(&c->o, "member"),
                                   gr_voucher_cb, c);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("voucher list", rc);
    }
    if (strcmp(cmd, "usable") == 0) {
        const char *need[] = {"member", "merchant", NULL};
        int64_t mid = 0;
        if ((rc = gr_need(&c->o, need)) != 0) {
            return rc;
        }
        rc = registry_member_find(&c->reg, gr_opt(&c->o, "member"), &mid);
        if (rc != GL_OK) {
            return gr_fail("member", rc);
        }
        c->first = 1;
        printf(c->o.json ? "[" : "");
        rc = registry_vouchers_for_member(&c->reg, mid,
                                          gr_opt(&c->o, "merchant"),
                                          gr_voucher_cb, c);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("voucher usable", rc);
    }
    int status = -1;
    if (strcmp(cmd, "freeze") == 0) {
        status = REGISTRY_V_FROZEN;
    } else if (strcmp(cmd, "unfreeze") == 0) {
        status = REGISTRY_V_ACTIVE;
    } else if (strcmp(cmd, "cancel") == 0) {
        status = REGISTRY_V_CANCELLED;
    } else if (strcmp(cmd, "show") != 0 && strcmp(cmd, "history") != 0) {
        return -1;
    }
    const char *number = c->o.npos > 0 ? c->o.pos[0] : gr_opt(&c->o, "number");
    if (number == NULL) {
        fprintf(stderr, "glctl: voucher %s needs a NUMBER\n", cmd);
        return 2;
    }
    if (status >= 0) {
        rc = registry_voucher_set_status(&c->reg, number, status);
        if (rc != GL_OK) {
            return gr_fail("voucher", rc);
        }
    }
    rc = registry_voucher_get(&c->reg, number, &v);
    if (rc != GL_OK) {
        return gr_fail("voucher", rc);
    }
    c->first = 1;
    if (strcmp(cmd, "history") == 0) {
        struct gr_hist h = {.c = c, .account = v.account};
        printf(c->o.json ? "[" : "");
        rc = ledger_history(&c->lg, v.account, gr_history_cb, &h);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("voucher history", rc);
    }
    gr_voucher_print(c, &v, 0);
    printf(c->o.json ? "\n" : "");
    return 0;
}

/* ---- ledger ----------------------------------------------------------- */

static int gr_ledger(struct gr_ctx *c, const char *cmd)
{
    int rc;
    if (strcmp(cmd, "check") == 0) {
        struct ledger_report rep;
        rc = ledger_check(&c->lg, ledger_now(&c->lg), &rep);
        if (rc != GL_OK) {
            ledger_report_free(&rep);
            return gr_fail("ledger check", rc);
        }
        if (c->o.json) {
            printf("{\"clean\":%s", rep.n == 0 ? "true" : "false");
            gr_json_kv_int("accounts", rep.accounts, 1);
            gr_json_kv_int("sum", rep.total, 1);
            printf(",\"findings\":[");
            for (size_t i = 0; i < rep.n; i++) {
                const struct ledger_finding *f = &rep.items[i];
                printf("%s{", i ? "," : "");
                gr_json_kv_str("what", ledger_check_name(f->what), 0);
                gr_json_kv_int("account", f->account, 1);
                gr_json_kv_str("id", f->hold, 1);
                gr_json_kv_int("expected", f->expected, 1);
                gr_json_kv_int("actual", f->actual, 1);
                gr_json_kv_str("text", f->text, 1);
                printf("}");
            }
            printf("]}\n");
        } else if (rep.n == 0) {
            printf("ledger clean: %" PRId64 " accounts, sum %" PRId64 "\n",
                   rep.accounts, rep.total);
        } else {
            printf("ledger NOT clean: %zu finding%s\n", rep.n,
                   rep.n == 1 ? "" : "s");
            for (size_t i = 0; i < rep.n; i++) {
                printf("  %-15s %s\n", ledger_check_name(rep.items[i].what),
                       rep.items[i].text);
            }
        }
        rc = rep.n == 0 ? 0 : 1;
        ledger_report_free(&rep);
        return rc;
    }
    if (strcmp(cmd, "overdrafts") == 0) {
        struct gr_hist h = {.c = c, .account = 0};
        c->first = 1;
        printf(c->o.json ? "[" : "");
        rc = ledger_overdrafts_list(&c->lg, gr_history_cb, &h);
        printf(c->o.json ? "]\n" : "");
        return rc == GL_OK ? 0 : gr_fail("ledger overdrafts", rc);
    }
    if (strcmp(cmd, "expire") == 0) {
        int n = 0;
        rc = ledger_holds_expire(&c->lg, ledger_now(&c->lg), &n);
        if (rc != GL_OK) {
            return gr_fail("ledger expire", rc);
        }
        if (c->o.json) {
            printf("{\"expired\":%d}\n", n);
        } else {
            printf("%d hold%s released\n", n, n == 1 ? "" : "s");
        }
        return 0;
    }
    return -1;
}

/* ---- dispatch --------------------------------------------------------- */

int glctl_registry_has_group(const char *group)
{
    for (unsigned i = 0; i < glctl_registry_ncmds; i++) {
        if (strcmp(glctl_registry_cmds[i].group, group) == 0) {
            return 1;
        }
    }
    return 0;
}

static void gr_group_help(FILE *f, const char *group)
{
    fprintf(f,
            "usage: glctl %s <command> [options] [--db PATH] [--json]\n"
            "commands:\n",
            group);
    for (unsigned i = 0; i < glctl_registry_ncmds; i++) {
        if (strcmp(glctl_registry_cmds[i].group, group) == 0) {
            fprintf(f, "  %-10s %s\n", glctl_registry_cmds[i].command,
                    glctl_registry_cmds[i].help);
        }
    }
}

static const struct glctl_registry_cmd *gr_find(const char *group,
                                                const char *cmd)
{
    for (unsigned i = 0; i < glctl_registry_ncmds; i++) {
        if (strcmp(glctl_registry_cmds[i].group, group) == 0 &&
            strcmp(glctl_registry_cmds[i].command, cmd) == 0) {
            return &glctl_registry_cmds[i];
        }
    }
    return NULL;
}

/* billing statement: the month's phone-bill charges per phone (shop.h). */
static int gr_billing(struct gr_ctx *c)
{
    struct shop shop;
    struct shop_config cfg = {0};
    const char *month = gr_opt(&c->o, "month");
    int rc;

    if (month == NULL) {
        fprintf(stderr, "glctl: billing statement needs --month YYYY-MM\n");
        return 2;
    }
    rc = shop_open(&shop, &c->reg, NULL, &cfg);
    if (rc != GL_OK) {
        return gr_fail("billing", rc);
    }
    rc = shop_billing_statement(&shop, month, stdout);
    shop_close(&shop);
    if (rc == GL_EINVAL) {
        fprintf(stderr, "glctl: --month: \"%s\" is not YYYY-MM\n", month);
        return 2;
    }
    return rc == GL_OK ? 0 : gr_fail("billing statement", rc);
}

/* payout export: the bank transfer file of due cash-outs (online.h). */
static int gr_payout(struct gr_ctx *c)
{
    struct online on;
    const char *out = gr_opt(&c->o, "out");
    int n = 0, rc;

    if (out == NULL) {
        fprintf(stderr, "glctl: payout export needs --out FILE\n");
        return 2;
    }
    rc = online_open(&on, &c->reg, NULL);
    if (rc != GL_OK) {
        return gr_fail("payout", rc);
    }
    rc = online_payout_export(&on, out, &n);
    if (rc != GL_OK) {
        fprintf(stderr, "glctl: payout export: %s (%s)\n", gl_strerror(rc),
                online_errmsg(&on));
        online_close(&on);
        return rc == GL_EEXIST ? 2 : 1;
    }
    online_close(&on);
    if (c->o.json) {
        printf("{\"exported\":%d,\"file\":\"%s\"}\n", n, out);
    } else {
        printf("%d payout(s) exported to %s\n", n, out);
    }
    return 0;
}

/* content add: an add-on file copied into the content directory that
 * gl-webd serves ([gift] content_dir), registered in the catalogue. */
static int gr_content(struct gr_ctx *c)
{
    static const char *const kinds[] = {"", "ring_tone", "theme_card",
                                        "background_music", "character"};
    struct gift g;
    struct gift_config cfg = {0};
    const char *kind = gr_opt(&c->o, "kind"), *title = gr_opt(&c->o, "title");
    const char *mime = gr_opt(&c->o, "mime"), *file = gr_opt(&c->o, "file");
    const char *dir = gr_opt(&c->o, "dir");
    int64_t id = 0;
    int k = 0, rc;

    for (int i = 1; kind != NULL && i < 5; i++) {
        if (strcmp(kind, kinds[i]) == 0) {
            k = i;
        }
    }
    if (k == 0 || title == NULL || mime == NULL || file == NULL ||
        dir == NULL) {
        fprintf(stderr, "glctl: content add needs --kind ring_tone|theme_card|"
                        "background_music|character --title --mime --file "
                        "--dir\n");
        return 2;
    }
    cfg.content_dir = dir;
    rc = gift_open(&g, &c->reg, &cfg);
    if (rc != GL_OK) {
        return gr_fail("content", rc);
    }
    rc = gift_content_add(&g, k, title, mime, file, &id);
    gift_close(&g);
    if (rc != GL_OK) {
        return gr_fail("content add", rc);
    }
    if (c->o.json) {
        printf("{\"id\":%" PRId64 "}\n", id);
    } else {
        printf("content %" PRId64 " %s %s\n", id, kinds[k], title);
    }
    return 0;
}

int glctl_registry_main(const char *group, int argc, char **argv)
{
    struct gr_ctx c;
    const struct glctl_registry_cmd *cmd;
    int rc;

    if (!glctl_registry_has_group(group)) {
        fprintf(stderr, "glctl: unknown group %s\n", group);
        return 2;
    }
    if (argc < 1 || strcmp(argv[0], "--help") == 0 ||
        strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "help") == 0) {
        gr_group_help(stdout, group);
        return 0;
    }
    cmd = gr_find(group, argv[0]);
    if (cmd == NULL) {
        fprintf(stderr, "glctl: %s has no command %s\n", group, argv[0]);
        gr_group_help(stderr, group);
        return 2;
    }
    memset(&c, 0, sizeof c);
    if (gr_parse(argc, argv, &c.o) != 0) {
        return 2;
    }
    if (c.o.help) {
        printf("usage: glctl %s %s [--db PATH] [--json]\n  %s\n", group,
               cmd->command, cmd->help);
        if (strcmp(cmd->command, "issue") == 0) {
            printf("  --pin-file F: PINs, one line for all vouchers or one "
                   "per voucher;\n  --pin-key FILE (or GL_PIN_KEY_FILE): the "
                   "host's PIN hashing key;\n  --unfunded: till cards, "
                   "registered without value until a counter sale\n"
                   "  activates them (processing code 900060)\n");
        }
        return 0;
    }
    int need_key = strcmp(cmd->command, "issue") == 0 &&
                   gr_opt(&c.o, "pin-file") != NULL;
    rc = gr_open(&c, need_key);
    if (rc != 0) {
        gr_close(&c);
        return rc;
    }
    if (strcmp(group, "merchant") == 0) {
        rc = gr_merchant(&c, cmd->command);
    } else if (strcmp(group, "store") == 0) {
        rc = gr_store(&c, cmd->command);
    } else if (strcmp(group, "terminal") == 0) {
        rc = gr_terminal(&c, cmd->command);
    } else if (strcmp(group, "product") == 0) {
        rc = gr_product(&c, cmd->command);
    } else if (strcmp(group, "member") == 0) {
        rc = gr_member(&c, cmd->command);
    } else if (strcmp(group, "voucher") == 0) {
        rc = gr_voucher(&c, cmd->command);
    } else if (strcmp(group, "billing") == 0) {
        rc = gr_billing(&c);
    } else if (strcmp(group, "payout") == 0) {
        rc = gr_payout(&c);
    } else if (strcmp(group, "content") == 0) {
        rc = gr_content(&c);
    } else {
        rc = gr_ledger(&c, cmd->command);
    }
    gr_close(&c);
    if (rc < 0) {
        fprintf(stderr, "glctl: %s %s is not implemented\n", group,
                cmd->command);
        rc = 2;
    }
    fflush(stdout);
    return rc;
}
