/*
 * mms.h - MMS to customers: an MM7 SubmitReq posted to the MMSC over HTTP.
 *
 * Contract:
 *  - One MMS is a text (UTF-8, Korean), an optional barcode of the voucher
 *    number (Code 128 drawn by libzint, encoded as PNG by libpng), and
 *    optional add-on files (images, audio) named by path.  mms_submit builds
 *    the MM7 SubmitReq (3GPP TS 23.140, schema REL-6-MM7-1-4, SOAP 1.1) as a
 *    multipart/related HTTP body: the SOAP envelope, then the content as one
 *    multipart/related part (SMIL, text, barcode, add-ons; binary parts in
 *    base64), and posts it with libcurl.
 *  - The SubmitRsp (or a SOAP Fault with an MM7 status in its detail) is
 *    mapped once, here: StatusCode 1xxx -> GL_OK and the MessageID; 2xxx
 *    client errors, 3002..3004 and 4xxx but 4006 -> GL_MMS_REJECTED (never
 *    retried); 3000, 3001 and 4006 -> GL_MMS_TEMPFAIL; HTTP 503 or 429 ->
 *    GL_MMS_THROTTLED; other HTTP 5xx without a status -> GL_MMS_TEMPFAIL;
 *    no answer (connection closed) -> GL_ECLOSED, a timeout -> GL_ETIMEDOUT,
 *    no connection -> GL_MMS_HTTP: all retryable.  An answer that is no
 *    SubmitRsp -> GL_MMS_PROTO (retryable: the MMSC may hold the message).
 *  - Like SMS, delivery is at least once: a submit whose answer was lost
 *    (timeout) is sent again by the outbox and the MMSC may hold it twice.
 *  - Content problems (a missing add-on, an unknown type, too big) are
 *    GL_MMS_ADDON, GL_MMS_BARCODE, GL_MMS_TOOBIG, GL_MMS_CONTENT:
 *    permanent.
 *  - The client is used by one thread at a time; it keeps one curl handle
 *    (and its connection) from init to deinit.  The host allocates: bodies
 *    and images are heap buffers checked at every step.
 *  - Phone numbers are logged only through gl_mask_phone, never the
 *    voucher number.
 */
#ifndef MMS_H
#define MMS_H

#include <stddef.h>

#define MMS_MSGID_MAX 96
#define MMS_ADDONS_MAX 4
#define MMS_SUBJECT_MAX 121 /* 40 Korean characters in UTF-8, plus NUL */
#define MMS_BARCODE_MAX 49  /* voucher numbers are 16 digits */
#define MMS_PATH_MAX 256

/* MMSC settings (configuration).  Strings are borrowed: they must outlive
 * the client.  Zeros take the defaults. */
struct mms_config {
    const char *url;      /* MM7 endpoint, e.g. http://mmsc:8080/mm7 */
    const char *user;     /* HTTP basic auth; NULL: none */
    const char *password; /* with user */
    const char *vasp_id;  /* SenderIdentification/VASPID; NULL: omitted */
    const char *vas_id;   /* SenderIdentification/VASID; NULL: omitted */
    const char *sender;   /* SenderAddress short code; NULL: omitted */
    const char *service_code; /* ServiceCode (charging); NULL: omitted */
    int connect_timeout_ms;   /* 0: 5000 */
    int timeout_ms;           /* whole request; 0: 30000 */
    size_t max_bytes;         /* largest body; 0: 300 KiB */
};

/* One MMS (all strings borrowed for the call). */
struct mms_message {
    const char *transaction_id; /* MM7 TransactionID (e.g. outbox row) */
    const char *to;             /* digits: 01012345678 */
    const char *subject;        /* UTF-8, may be "" */
    const char *text;           /* UTF-8 body text */
    const char *barcode;        /* voucher number to draw; NULL: none */
    const char *const *addons;  /* file paths; extension gives the type */
    int naddons;                /* 0..MMS_ADDONS_MAX */
};

struct mms_client {
    struct mms_config cfg;
    void *curl; /* CURL *, opened once */
    char errmsg[320];
};

/* Opens the curl handle (curl_global_init on first use).  GL_OK, GL_EINVAL
 * (no url), GL_ENOMEM. */
int mms_client_init(struct mms_client *c, const struct mms_config *cfg);
/* Closes the handle.  Safe twice and on a failed init. */
void mms_client_deinit(struct mms_client *c);
const char *mms_client_errmsg(const struct mms_client *c);

/*
 * Builds and posts one MMS; on GL_OK msg_id (MMS_MSGID_MAX) gets the
 * MMSC's MessageID.  Returns the mapping above; the reason in words in
 * mms_client_errmsg.  Blocks at most cfg.timeout_ms.
 */
int mms_submit(struct mms_client *c, const struct mms_message *m,
               char *msg_id);

/* The MIME type of an add-on, from its file name's extension (png, jpg,
 * jpeg, gif, mid, midi, amr, mp3, 3gp, txt), or NULL if unknown. */
const char *mms_addon_type(const char *path);

/* Checks an MMS's fields before it is queued: subject (UTF-8, at most
 * MMS_SUBJECT_MAX-1 bytes, no control characters), barcode (NULL or 1 to
 * MMS_BARCODE_MAX-1 printable ASCII characters), add-ons (at most
 * MMS_ADDONS_MAX paths of a known type, each shorter than MMS_PATH_MAX, no
 * newline).  GL_OK or GL_MMS_CONTENT.  The files are read only when sent. */
int mms_check(const char *subject, const char *barcode,
              const char *const *addons, int naddons);

/* Draws number as Code 128 and encodes it as a grayscale PNG.  *png is
 * malloc'd (the caller frees it), *len its size.  GL_OK, GL_MMS_BARCODE,
 * GL_ENOMEM. */
int mms_barcode_png(const char *number, unsigned char **png, size_t *len);

/* Builds the HTTP body of a SubmitReq: *body malloc'd (caller frees),
 * ctype (cap bytes) gets the Content-Type header value.  GL_OK or the
 * content errors above.  Exposed for tests and fuzzing. */
int mms_build(const struct mms_config *cfg, const struct mms_message *m,
              char **body, size_t *len, char *ctype, size_t cap,
              char *why, size_t why_cap);

/* Maps an MMSC answer (HTTP status and body) per the contract; msg_id
 * (MMS_MSGID_MAX) gets the MessageID on GL_OK, why the MMSC's status in
 * words. */
int mms_parse_rsp(long http_status, const char *body, size_t len,
                  char *msg_id, char *why, size_t why_cap);

#endif /* MMS_H */
