/*
 * nfc.c - hal_nfc over libnfc.  Contract in nfc.h.
 *
 * The reader is told not to select forever (NP_INFINITE_SELECT off): a
 * PN532 then gives up after its retry budget and answers "no target",
 * which becomes GL_DEV_NOCARD; the caller polls by selecting again on its
 * own schedule (drivers/nfc_reader).  A selection that times out is
 * therefore a reader that went silent, reported as GL_ETIMEDOUT like a
 * silent exchange (see nfc.h for the bound of each wait).
 */
#include "nfc.h"

#include <nfc/nfc.h>
#include <stdio.h>
#include <string.h>

#include "gl_err.h"

_Static_assert(sizeof(nfc_target) <= HAL_NFC_TARGET_STORE,
               "HAL_NFC_TARGET_STORE too small for libnfc's nfc_target");

#define DEFAULT_TIMEOUT_MS 2000

int hal_nfc_err_from_libnfc(int e)
{
    switch (e) {
    case NFC_SUCCESS:
        return GL_OK;
    case NFC_ETIMEOUT:
        return GL_ETIMEDOUT;
    case NFC_ERFTRANS:
    case NFC_ETGRELEASED:
        return GL_DEV_CARDGONE;
    case NFC_EOVFLOW:
        return GL_ENOSPC;
    case NFC_EINVARG:
        return GL_EINVAL;
    case NFC_ENOTSUCHDEV:
        return GL_DEV_NODEV;
    case NFC_EDEVNOTSUPP:
    case NFC_ENOTIMPL:
        return GL_ENOTSUP;
    case NFC_EOPABORTED:
        return GL_EAGAIN;
    case NFC_ECHIP:
        return GL_DEV_BADFRAME;
    case NFC_EIO:
    case NFC_ESOFT:
    default:
        return GL_EIO;
    }
}

static int lib_fail(struct hal_nfc *n, int e, const char *what)
{
    n->last_lib_err = e;
    snprintf(n->errmsg, sizeof n->errmsg, "%s: %s (%d)", what,
             n->dev != NULL ? nfc_strerror(n->dev) : "no device", e);
    return hal_nfc_err_from_libnfc(e);
}

/* ---- libnfc backend ----------------------------------------------------- */

static void lnfc_close(struct hal_nfc *n)
{
    if (n->dev != NULL) {
        nfc_close(n->dev); /* releases targets, field off, power down */
        n->dev = NULL;
    }
    if (n->ctx != NULL) {
        nfc_exit(n->ctx);
        n->ctx = NULL;
    }
    n->selected = 0;
}

static int lnfc_open(struct hal_nfc *n)
{
    nfc_context *ctx = NULL;
    nfc_device *dev = NULL;
    int r, rc = GL_OK;

    nfc_init(&ctx);
    if (ctx == NULL) {
        snprintf(n->errmsg, sizeof n->errmsg, "nfc_init failed");
        rc = GL_ENOMEM;
        goto out;
    }
    n->ctx = ctx;
    dev = nfc_open(ctx, n->cfg.connstring);
    if (dev == NULL) {
        snprintf(n->errmsg, sizeof n->errmsg, "no reader answers");
        rc = GL_DEV_NODEV;
        goto out;
    }
    n->dev = dev;
    if ((r = nfc_initiator_init(dev)) < 0) {
        rc = lib_fail(n, r, "initiator init");
        goto out;
    }
    if ((r = nfc_device_set_property_bool(dev, NP_INFINITE_SELECT, false)) <
        0) {
        rc = lib_fail(n, r, "finite select");
        goto out;
    }
out:
    if (rc != GL_OK) {
        lnfc_close(n);
    }
    return rc;
}

static int lnfc_select(struct hal_nfc *n, struct hal_nfc_target *t)
{
    const nfc_modulation nm = {.nmt = NMT_ISO14443A, .nbr = NBR_106};
    nfc_target *nt = (nfc_target *)n->target;
    int r;

    n->selected = 0;
    memset(nt, 0, sizeof *nt);
    r = nfc_initiator_select_passive_target(n->dev, nm, NULL, 0, nt);
    if (r == 0) {
        return GL_DEV_NOCARD;
    }
    if (r < 0) {
        return lib_fail(n, r, "select");
    }
    memset(t, 0, sizeof *t);
    t->uid_len = nt->nti.nai.szUidLen;
    if (t->uid_len > sizeof t->uid) {
        t->uid_len = sizeof t->uid;
    }
    memcpy(t->uid, nt->nti.nai.abtUid, t->uid_len);
    memcpy(t->atqa, nt->nti.nai.abtAtqa, 2);
    t->sak = nt->nti.nai.btSak;
    t->ats_len = nt->nti.nai.szAtsLen;
    if (t->ats_len > sizeof t->ats) {
        t->ats_len = sizeof t->ats;
    }
    memcpy(t->ats, nt->nti.nai.abtAts, t->ats_len);
    n->selected = 1;
    return GL_OK;
}

static int lnfc_transceive(struct hal_nfc *n, const uint8_t *capdu,
                           size_t clen, uint8_t *rapdu, size_t cap,
                           size_t *rlen, int timeout_ms)
{
    int r = nfc_initiator_transceive_bytes(n->dev, capdu, clen, rapdu, cap,
                                           timeout_ms);
    if (r < 0) {
        int rc = lib_fail(n, r, "exchange");
        if (rc == GL_DEV_CARDGONE) {
            n->selected = 0;
        }
        return rc;
    }
    *rlen = (size_t)r;
    return GL_OK;
}

static int lnfc_present(struct hal_nfc *n)
{
    int r = nfc_initiator_target_is_present(n->dev, (nfc_target *)n->target);
    if (r < 0) {
        int rc = lib_fail(n, r, "presence");
        if (rc == GL_DEV_CARDGONE) {
            n->selected = 0;
        }
        return rc;
    }
    return GL_OK;
}

static int lnfc_release(struct hal_nfc *n)
{
    int r = nfc_initiator_deselect_target(n->dev);
    n->selected = 0;
    return r < 0 ? lib_fail(n, r, "deselect") : GL_OK;
}

const struct hal_nfc_ops hal_nfc_libnfc = {
    .name = "libnfc",
    .open = lnfc_open,
    .close = lnfc_close,
    .select = lnfc_select,
    .transceive = lnfc_transceive,
    .present = lnfc_present,
    .release = lnfc_release,
};

/* ---- public functions ----------------------------------------------------- */

int hal_nfc_init(struct hal_nfc *n, const struct hal_nfc_ops *ops,
                 const struct hal_nfc_config *cfg)
{
    memset(n, 0, sizeof *n);
    n->ops = ops != NULL ? ops : &hal_nfc_libnfc;
    if (cfg == NULL || cfg->connstring[0] == '\0' ||
        memchr(cfg->connstring, '\0', sizeof cfg->connstring) == NULL) {
        return GL_EINVAL;
    }
    n->cfg = *cfg;
    if (n->cfg.timeout_ms <= 0) {
        n->cfg.timeout_ms = DEFAULT_TIMEOUT_MS;
    }
    return GL_OK;
}

int hal_nfc_open(struct hal_nfc *n)
{
    if (n->dev != NULL) {
        return GL_EINVAL;
    }
    n->errmsg[0] = '\0';
    n->last_lib_err = 0;
    return n->ops->open(n);
}

void hal_nfc_close(struct hal_nfc *n)
{
    n->ops->close(n);
}

int hal_nfc_is_open(const struct hal_nfc *n)
{
    return n->dev != NULL;
}

int hal_nfc_select(struct hal_nfc *n, struct hal_nfc_target *t)
{
    return n->dev != NULL ? n->ops->select(n, t) : GL_EINVAL;
}

int hal_nfc_transceive(struct hal_nfc *n, const uint8_t *capdu, size_t clen,
                       uint8_t *rapdu, size_t cap, size_t *rlen,
                       int timeout_ms)
{
    *rlen = 0;
    if (n->dev == NULL || clen == 0) {
        return GL_EINVAL;
    }
    if (!n->selected) {
        return GL_DEV_NOCARD;
    }
    return n->ops->transceive(n, capdu, clen, rapdu, cap, rlen,
                              timeout_ms > 0 ? timeout_ms : n->cfg.timeout_ms);
}

int hal_nfc_present(struct hal_nfc *n)
{
    if (n->dev == NULL) {
        return GL_EINVAL;
    }
    return n->selected ? n->ops->present(n) : GL_DEV_NOCARD;
}

int hal_nfc_release(struct hal_nfc *n)
{
    if (n->dev == NULL) {
        return GL_EINVAL;
    }
    return n->selected ? n->ops->release(n) : GL_OK;
}
