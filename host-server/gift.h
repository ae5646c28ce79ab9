/*
 * gift.h - the customer's gift of vouchers (issue 7; the patent's flow 2,
 * S110-S180) as a library the customer HTTP API calls: pick owned vouchers
 * (or a part of one whose product allows partial use), the recipient's
 * phone, a message and add-ons from the content catalogue, preview the
 * package, send it; the recipient accepts (joining as a member if needed)
 * or refuses through a claim link; an unclaimed gift returns to the giver
 * after cfg.expire_days.
 *
 * Contract:
 *  - A gift handle works over the host's SQLite store (the registry's; its
 *    own tables live in the same database, like shop.h's).  Everything it
 *    points to is borrowed and must outlive it.  One thread at a time.
 *  - Tables (created by gift_open, CREATE IF NOT EXISTS): gift (one row per
 *    idempotency key, UNIQUE; the claim token only as its SHA-256), gift_item
 *    (the vouchers of a gift; a partial UNIQUE index on the voucher of the
 *    open items, so a voucher is in at most one pending gift), gift_addon,
 *    gift_content (the add-on catalogue).  The SMS outbox is notify.h's.
 *  - Reservation: from gift_send until the gift closes, each of its vouchers
 *    is REGISTRY_V_FROZEN, so every use at the host is refused
 *    (registry_voucher_authorize* answers GL_REG_FROZEN, hostd's
 *    voucher_status "62") and the shop's refund terms see it as used.  Only
 *    active vouchers can be gifted, so a frozen voucher of an open gift item
 *    is the gift's; an operator who unfreezes it meanwhile releases it (the
 *    gift still closes normally, moving what is left).
 *  - A part (0 < amount < available of a partial-use voucher) becomes a new
 *    voucher of the same product, face and expiry, issued unfunded to the
 *    giver and given its value by a ledger transfer (LEDGER_TK_ADJUST,
 *    "gift:<id>:<seq>") from the original.  Refused or expired, the value
 *    goes back ("gift:<id>:<seq>:back") and the new voucher is cancelled.
 *  - Ownership moves on acceptance by an UPDATE of the registry's voucher
 *    table (member_id) through our own statement, inside the same
 *    transaction: the registry has no call for it yet (see gift.c).
 *  - Every action is ONE transaction: rows, voucher statuses, transfers,
 *    owner changes and the SMS (notify_enqueue_at) commit together.
 *  - Idempotency: gift_send's key names a gift.  The same key with the same
 *    content gets the first result with replay = 1 (but no token: the plain
 *    token is returned once; the SMS row holds the link); other content
 *    gets GIFT_CONFLICT.  Refusals and bad input are not recorded.
 *    Accepting an accepted gift (same phone) or refusing a refused one
 *    gives the first result again (replay = 1); anything else on a closed
 *    gift is GIFT_CLOSED with pkg.state telling how it closed.
 *  - The SMS to the recipient carries the claim link (cfg.claim_base +
 *    token), the giver's masked phone, the message and the masked voucher
 *    numbers; never a whole voucher number (the barcode is shown behind
 *    the link once accepted: an SMS of a refused gift must not let anyone
 *    spend the giver's voucher).  The giver gets an SMS on acceptance,
 *    refusal and expiry, with the recipient's phone masked.
 *  - Time is the ledger's clock (seconds), except gift_expire_due's now.
 *  - Logs mask phones (gl_mask_phone) and voucher numbers (gl_mask_pan).
 *  - Memory: the statements are prepared once by gift_open; the actions
 *    allocate nothing of their own (the registry and the outbox may).
 */
#ifndef GIFT_H
#define GIFT_H

#include <stddef.h>
#include <stdint.h>

#include "gl_log.h"
#include "gl_sql.h"
#include "registry.h"

#define GIFT_ITEMS_MAX 10   /* vouchers per gift */
#define GIFT_ADDONS_MAX 4   /* add-ons per gift */
#define GIFT_KEY_MAX 64     /* characters of an idempotency key */
#define GIFT_MESSAGE_MAX 60 /* characters (UTF-8) of the message */
#define GIFT_MESSAGE_CAP (GIFT_MESSAGE_MAX * 4 + 1)
#define GIFT_TOKEN_LEN 32 /* hex of 16 random bytes */
#define GIFT_TITLE_MAX 80 /* characters of a content title */
#define GIFT_TITLE_CAP (GIFT_TITLE_MAX * 4 + 1)
#define GIFT_MIME_MAX 64
#define GIFT_PATH_MAX 256 /* a content file's path (fits an MMS add-on) */
#define GIFT_DIR_MAX 180  /* characters of the content directory */
#define GIFT_LINK_MAX 128 /* claim_base */
#define GIFT_ERR_MAX 256
#define GIFT_DEFAULT_DAYS 7
#define GIFT_DEFAULT_CONTENT_MAX (8 * 1024 * 1024)

/* Kinds of add-on content (gift_content_kind_name). */
enum gift_content_kind {
    GIFT_RING_TONE = 1,        /* "ring_tone": audio/... */
    GIFT_THEME_CARD = 2,       /* "theme_card": image/... */
    GIFT_BACKGROUND_MUSIC = 3, /* "background_music": audio/... */
    GIFT_CHARACTER = 4,        /* "character": image/... */
};

/* A gift's state (gift_state_name). */
enum gift_state {
    GIFT_PENDING = 0, /* "pending": sent, vouchers reserved */
    GIFT_ACCEPTED,    /* "accepted": the recipient owns them */
    GIFT_REFUSED,     /* "refused": back with the giver */
    GIFT_EXPIRED,     /* "expired": unclaimed, back with the giver */
};

/* What an action came to (the API's "result"; gift_outcome_name). */
enum gift_outcome {
    GIFT_DONE = 0,        /* "done" (preview: the package is valid) */
    GIFT_NOT_MEMBER,      /* "not_member": the giver is no member */
    GIFT_NOT_OWNER,       /* "not_owner": unknown or someone else's voucher */
    GIFT_UNUSABLE,        /* "unusable": not active, expired, empty, or a
                             payment on it is in progress */
    GIFT_RESERVED,        /* "reserved": already in a pending gift */
    GIFT_NO_PARTIAL,      /* "no_partial": the product allows no parts */
    GIFT_AMOUNT,          /* "amount": more than the voucher's balance */
    GIFT_CONFLICT,        /* "conflict": key used with other content */
    GIFT_BAD_TOKEN,       /* "bad_token": no gift has this claim token */
    GIFT_WRONG_RECIPIENT, /* "wrong_recipient": accepted by another phone */
    GIFT_CLOSED,          /* "closed": already accepted, refused or expired
                             (pkg.state says which) */
    GIFT_FAILED,          /* "failed": bad input or a storage error */
};

struct gift_config {
    const char *content_dir; /* copied; add-on files; NULL: no catalogue
                                (gift_content_add answers GL_ENOTSUP) */
    const char *claim_base;  /* copied; the token is appended; NULL:
                                "https://giftlink.example/g/" */
    int expire_days;         /* unclaimed gifts return after; 0: 7 */
    int64_t content_max;     /* largest add-on file; 0: 8 MiB */
    int mms;                 /* 1: the recipient also gets MMS, in the
                                same transactions as the SMS: on send the
                                claim link and the add-on files, on accept
                                each voucher's barcode */
};

/* One voucher of a request: amount 0 (or its whole available balance) gives
 * the whole voucher, 0 < amount < available a part. */
struct gift_item_req {
    const char *number;
    int64_t amount;
};

/* A gift request; all pointers borrowed for the call. */
struct gift_request {
    const char *key;       /* gift_send: 1..GIFT_KEY_MAX printable, no space;
                              gift_preview: ignored */
    const char *giver;     /* Korean mobile, digits only; a member */
    const char *recipient; /* Korean mobile, digits only; not the giver */
    const char *message;   /* NULL or up to GIFT_MESSAGE_MAX characters */
    const struct gift_item_req *items; /* 1..GIFT_ITEMS_MAX, no repeats */
    size_t nitems;
    const int64_t *addons; /* content ids, 0..GIFT_ADDONS_MAX, no repeats */
    size_t naddons;
};

struct gift_item {
    char number[VOUCHER_NUM_LEN + 1]; /* whole number: only in the results
                                         of gift_accept (the recipient's
                                         own vouchers); else "" */
    char masked[GL_MASK_MAX];
    char source[GL_MASK_MAX]; /* a part: the original, masked */
    char product[REGISTRY_ID_MAX + 1];
    char brand[65];
    int64_t amount; /* value given */
    int part;       /* 1: a part of source */
    int64_t expires;
};

struct gift_addon {
    int64_t id;
    int kind; /* enum gift_content_kind */
    char title[GIFT_TITLE_CAP];
    char mime[GIFT_MIME_MAX + 1];
};

/* The whole package: a preview, the claim page, the results. */
struct gift_package {
    int64_t gift_id; /* 0 in a preview */
    enum gift_state state;
    char giver[GL_MASK_MAX]; /* masked phones */
    char recipient[GL_MASK_MAX];
    char message[GIFT_MESSAGE_CAP];
    size_t nitems;
    struct gift_item items[GIFT_ITEMS_MAX];
    int64_t total;
    size_t naddons;
    struct gift_addon addons[GIFT_ADDONS_MAX];
    int64_t created, expires_at, closed_at; /* seconds; 0 when not yet */
};

struct gift_result {
    enum gift_outcome outcome;
    int replay; /* 1: the first result again, nothing done */
    int item;   /* a refusal about one voucher: its index; else -1 */
    int joined; /* gift_accept: the recipient became a member by it */
    char token[GIFT_TOKEN_LEN + 1]; /* gift_send, first result only */
    char link[GIFT_LINK_MAX + GIFT_TOKEN_LEN + 1]; /* claim_base + token */
    struct gift_package pkg;
    char err[GIFT_ERR_MAX]; /* why, for refusals and failures */
};

/* An add-on of the catalogue. */
struct gift_content {
    int64_t id;
    int kind;
    char title[GIFT_TITLE_CAP];
    char mime[GIFT_MIME_MAX + 1];
    char path[GIFT_PATH_MAX]; /* content_dir/<sha256>: serve this file */
    int64_t size;
    char sha256[65]; /* lowercase hex */
    int64_t created;
};

/* A gift of the basket's history. */
struct gift_summary {
    int64_t id;
    enum gift_state state;
    char counterpart[GL_MASK_MAX]; /* the other party's phone, masked */
    char message[GIFT_MESSAGE_CAP];
    int nitems;
    int64_t total;
    int64_t created, expires_at, closed_at;
};

enum gift_direction {
    GIFT_SENT = 1,
    GIFT_RECEIVED = 2,
};

/* Listing callbacks: the struct is valid for the call only; a non-zero
 * return stops the listing and is returned.  They must not call back into
 * the gift handle. */
typedef int (*gift_list_cb)(void *ctx, const struct gift_summary *g);
typedef int (*gift_content_cb)(void *ctx, const struct gift_content *c);

enum {
    GIFT_Q_BY_KEY,
    GIFT_Q_BY_TOKEN,
    GIFT_Q_BY_ID,
    GIFT_Q_INSERT,
    GIFT_Q_CLOSE,
    GIFT_Q_ITEM_INSERT,
    GIFT_Q_ITEMS,
    GIFT_Q_ITEM_OPEN,
    GIFT_Q_ITEMS_CLOSE,
    GIFT_Q_ADDON_INSERT,
    GIFT_Q_ADDONS,
    GIFT_Q_DUE,
    GIFT_Q_LIST_SENT,
    GIFT_Q_LIST_RECEIVED,
    GIFT_Q_V_SET_MEMBER,
    GIFT_Q_V_SET_EXPIRES,
    GIFT_Q_CONTENT_INSERT,
    GIFT_Q_CONTENT_GET,
    GIFT_Q_CONTENT_LIST,
    GIFT_Q__COUNT
};

struct gift {
    struct registry *reg; /* borrowed */
    struct ledger *lg;    /* the registry's */
    struct store *st;     /* the ledger's */
    int expire_days;
    int64_t content_max;
    int mms;
    char content_dir[GIFT_DIR_MAX + 1]; /* "": no catalogue */
    char claim_base[GIFT_LINK_MAX + 1];
    struct gl_sql sql; /* on the store's connection; errmsg: ours too */
};

/*
 * Attaches to reg (its store must be SQLite and outside a transaction);
 * cfg may be NULL.  Creates the tables, the outbox and the content
 * directory (one level, 0750) when missing; prepares the statements.
 * Returns GL_OK; GL_ENOTSUP (not SQLite); GL_EINVAL (a config string too
 * long); GL_EOS (content directory); GL_DB* (text in gift_errmsg).  On
 * failure the handle is closed.
 */
int gift_open(struct gift *g, struct registry *reg,
              const struct gift_config *cfg);
/* Finalizes the statements.  Safe on a closed handle. */
void gift_close(struct gift *g);

/*
 * Checks req as gift_send would (not the key) and fills res->pkg with what
 * would be sent; changes nothing.  res (caller's) is filled on every path.
 * Returns GL_OK with res->outcome GIFT_DONE or a refusal (res->item names
 * the voucher); GL_EINVAL for bad input (res->err says which); GL_DB*.
 */
int gift_preview(struct gift *g, const struct gift_request *req,
                 struct gift_result *res);

/*
 * Sends the gift (see the file comment): checks as gift_preview, then in
 * one transaction the gift row, the parts split off, the vouchers frozen,
 * the SMS to the recipient.  res->token and res->link get the claim token
 * (first result only).  Returns as gift_preview, plus outcome
 * GIFT_CONFLICT; on a storage error (GL_DB*, GL_LEDGER_ABORTED...)
 * nothing was done and the same key may be tried again.
 */
int gift_send(struct gift *g, const struct gift_request *req,
              struct gift_result *res);

/* The claim page: the gift of token (masked vouchers, giver masked,
 * message, add-ons, state).  GL_OK with GIFT_DONE or GIFT_BAD_TOKEN;
 * GL_DB*. */
int gift_claim_info(struct gift *g, const char *token, struct gift_result *res);

/*
 * The recipient accepts: token may point into res (it is read first).
 * phone must be the gift's recipient (the API has
 * verified that the caller holds it).  A phone that is no member joins
 * (res->joined).  In one transaction the vouchers become the recipient's
 * and active again, the gift accepted, the giver's SMS queued.  res->pkg
 * has the whole numbers.  A gift found past its expiry is returned to the
 * giver instead (GIFT_CLOSED, state expired).  Returns GL_OK with an
 * outcome (GIFT_DONE, GIFT_BAD_TOKEN, GIFT_WRONG_RECIPIENT, GIFT_CLOSED),
 * GL_EINVAL (phone), or a storage error (nothing done).
 */
int gift_accept(struct gift *g, const char *token, const char *phone,
                struct gift_result *res);

/* The recipient refuses: the vouchers go back to the giver (parts into
 * their original), the giver's SMS is queued.  Returns as gift_accept. */
int gift_refuse(struct gift *g, const char *token, struct gift_result *res);

/*
 * Returns every pending gift whose expires_at is at or before now to its
 * giver, each in its own transaction, with the giver's SMS.  *n (may be
 * NULL) gets how many.  Returns GL_OK or the first error (the gifts before
 * it stay returned).
 */
int gift_expire_due(struct gift *g, int64_t now, int *n);

/* The phone's gifts sent or received, newest first.  GL_EINVAL (phone,
 * direction), GL_DB*, or the callback's non-zero return. */
int gift_list(struct gift *g, const char *phone, enum gift_direction dir,
              gift_list_cb cb, void *ctx);

/*
 * Adds an add-on to the catalogue (glctl, operators): copies src_file into
 * the content directory as <sha256> (written to a temporary file, synced,
 * renamed; a file with the same content is shared) and records it.  mime
 * must be "audio/..." for ring tones and background music, "image/..." for
 * theme cards and characters.  *id (may be NULL) gets the new id.
 * Returns GL_OK; GL_EINVAL (kind, title, mime, not a regular file);
 * GL_ERANGE (empty or larger than content_max); GL_ENOTSUP (no content
 * directory); GL_EIO (reading or writing the file); GL_DB*.
 */
int gift_content_add(struct gift *g, int kind, const char *title,
                     const char *mime, const char *src_file, int64_t *id);
/* An add-on by id, with the path of its file (to serve it with its mime
 * type).  GL_ENOTFOUND. */
int gift_content_get(struct gift *g, int64_t id, struct gift_content *out);
/* The catalogue (kind 0: all), by kind then id. */
int gift_content_list(struct gift *g, int kind, gift_content_cb cb, void *ctx);

const char *gift_outcome_name(enum gift_outcome o);
const char *gift_state_name(enum gift_state s);
/* "ring_tone", "theme_card", "background_music", "character"; "" else. */
const char *gift_content_kind_name(int kind);
/* The reverse: the kind, or GL_EINVAL. */
int gift_content_kind_parse(const char *name);

/* The last storage error's text ("" if none); borrowed. */
const char *gift_errmsg(const struct gift *g);

#endif /* GIFT_H */
