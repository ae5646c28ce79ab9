/*
 * gl_err.h - the one error list of giftlink.
 *
 * Every function of the project that can fail returns 0 (GL_OK) or a negative
 * code from this list.  The list is an X-macro so that the enum and
 * gl_strerror() can never drift apart.  Codes of the libraries we call
 * (libnfc, libserialport, mbedTLS, SQLite) are translated into these once, at
 * the edge where the library is called; the library's own text may be kept in
 * a module's error buffer, never in the code.
 *
 * Add a code by adding a line in the section of the module that needs it.
 * Numbers are stable: never renumber, only append.
 */
#ifndef GL_ERR_H
#define GL_ERR_H

#define GL_ERR_LIST(X)                                                        \
    X(OK, 0, "success")                                                       \
    /* general */                                                             \
    X(EINVAL, -1, "invalid argument")                                         \
    X(ENOMEM, -2, "out of memory")                                            \
    X(ENOSPC, -3, "buffer or disk too small")                                 \
    X(ERANGE, -4, "value out of range")                                       \
    X(EIO, -5, "input/output error")                                          \
    X(ETIMEDOUT, -6, "timed out")                                             \
    X(EAGAIN, -7, "try again: operation would block")                         \
    X(ENOTFOUND, -8, "not found")                                             \
    X(EEXIST, -9, "already exists")                                           \
    X(ENOSYS, -10, "not implemented")                                         \
    X(ENOTSUP, -11, "not supported")                                          \
    X(ECLOSED, -12, "connection or device closed")                            \
    X(ECONFIG, -13, "configuration error")                                    \
    X(EOS, -14, "operating system error")                                     \
    /* ISO 8583 codec and framing */                                          \
    X(ISO_TRUNC, -100, "message truncated")                                   \
    X(ISO_TOOLONG, -101, "field longer than its definition allows")           \
    X(ISO_BADCHAR, -102, "character not allowed by the field's type")         \
    X(ISO_UNDEF, -103, "bitmap names a field the profile does not define")    \
    X(ISO_TRAILING, -104, "trailing bytes after the last field")              \
    X(ISO_BADLEN, -105, "bad length prefix")                                  \
    X(ISO_BADMTI, -106, "bad message type indicator")                         \
    X(ISO_EMPTY, -107, "variable-length field is empty")                      \
    X(ISO_FRAMELEN, -108, "frame length above the configured maximum")        \
    X(ISO_WRONGLEN, -109, "fixed-length field has the wrong length")          \
    X(ISO_BADHEX, -110, "bad hexadecimal text")                               \
    X(ISO_BADTLV, -111, "malformed TLV data")                                 \
    /* crypto */                                                              \
    X(CRYPTO, -200, "cryptographic library error")                            \
    X(MAC_MISSING, -201, "message has no MAC field")                          \
    X(MAC_MISMATCH, -202, "MAC does not verify")                              \
    X(DUKPT_EXHAUSTED, -203, "DUKPT transaction counter exhausted")           \
    X(DUKPT_BADKSN, -204, "bad key serial number")                            \
    X(PINBLOCK_FORMAT, -205, "malformed PIN block")                           \
    X(PIN_LENGTH, -206, "PIN length outside 4 to 12 digits")                  \
    X(KEY_LENGTH, -207, "key has the wrong length")                           \
    X(MAC_KSN_MISSING, -208, "message carries no key serial number for its MAC") \
    /* TLS and network */                                                     \
    X(TLS, -300, "TLS error")                                                 \
    X(TLS_NOCERT, -301, "peer presented no certificate")                      \
    X(TLS_BADCA, -302, "peer certificate not issued by the deployment CA")    \
    X(TLS_EXPIRED, -303, "peer certificate expired")                          \
    X(TLS_VERSION, -304, "peer offered no acceptable TLS version")            \
    X(TLS_CIPHER, -305, "no cipher suite in common")                          \
    X(TLS_CERT, -306, "peer certificate rejected")                            \
    X(TLS_HANDSHAKE, -307, "TLS handshake failed")                            \
    X(NET_CONNECT, -308, "cannot connect")                                    \
    X(NET_RESOLVE, -309, "cannot resolve address")                            \
    X(TLS_NOTYET, -310, "peer certificate not yet valid")                     \
    X(TLS_CN, -311, "peer certificate name does not match")                   \
    /* devices */                                                             \
    X(DEV_NOCARD, -400, "no card in the field")                               \
    X(DEV_CARDGONE, -401, "card removed during the exchange")                 \
    X(DEV_NODEV, -402, "device not found")                                    \
    X(DEV_BADFRAME, -403, "bad frame from device")                            \
    X(DEV_PAPER, -404, "printer out of paper")                                \
    X(DEV_OFFLINE, -405, "device offline")                                    \
    /* storage */                                                             \
    X(DB, -500, "database error")                                             \
    X(DB_FULL, -501, "database or disk full")                                 \
    X(DB_BUSY, -502, "database busy")                                         \
    X(DB_CORRUPT, -503, "database corrupt")

enum gl_err {
#define GL_ERR_ENUM_(name, code, text) GL_##name = (code),
    GL_ERR_LIST(GL_ERR_ENUM_)
#undef GL_ERR_ENUM_
};

/* Text for a code of GL_ERR_LIST; "unknown error" for anything else.
 * Returns a static string. */
const char *gl_strerror(int err);

/* The symbolic name ("ISO_TRUNC") of a code, for logs and tests. */
const char *gl_errname(int err);

#endif /* GL_ERR_H */
