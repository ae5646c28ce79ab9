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
 * Add a code by adding a line in the section of the module that needs it,
 * with a number from that section's range (see the neighbours; the unit
 * test of lib/common refuses duplicates).  Numbers are stable once
 * released: never renumber, only append.
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
    X(ISO_BITMAP, -112, "secondary bitmap present but empty")                 \
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
    X(PIN_MISMATCH, -209, "PIN does not match")                              \
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
    X(TLS_REFUSED, -312, "peer refused the handshake with a fatal alert")     \
    /* devices */                                                             \
    X(DEV_NOCARD, -400, "no card in the field")                               \
    X(DEV_CARDGONE, -401, "card removed during the exchange")                 \
    X(DEV_NODEV, -402, "device not found")                                    \
    X(DEV_BADFRAME, -403, "bad frame from device")                            \
    X(DEV_PAPER, -404, "printer out of paper")                                \
    X(DEV_OFFLINE, -405, "device offline")                                    \
    /* devices: NFC reader and phone wallet */                               \
    X(DEV_NOAPP, -410, "card has no such application")                       \
    X(DEV_PINWRONG, -411, "wrong PIN entered on the phone")                   \
    X(DEV_PINBLOCKED, -412, "PIN blocked on the phone")                       \
    X(DEV_PINREQUIRED, -413, "PIN not verified on the phone")                 \
    X(DEV_CARDERR, -414, "card refused the command")                          \
    X(DEV_NDEF, -415, "card holds no usable NDEF number")                     \
    /* serial devices: scanner, magstripe, IrDA, PIN pad, printer */         \
    X(SCAN_LENGTH, -420, "scanned code is not 16 digits long")               \
    X(SCAN_NONDIGIT, -421, "scanned code holds a character that is not a digit") \
    X(SCAN_CHECKDIGIT, -422, "scanned code fails its Luhn check digit")       \
    X(SCAN_TOOLONG, -423, "scanner line too long: dropped")                   \
    X(SCAN_GARBAGE, -424, "scanner line holds control or non-ASCII bytes: dropped") \
    X(SCAN_SYMBOLOGY, -425, "scanner line lacks a valid symbology identifier") \
    X(MSR_EMPTY, -430, "empty card swipe")                                    \
    X(MSR_NOSTART, -431, "card swipe lacks its start sentinel")               \
    X(MSR_NOEND, -432, "card swipe lacks its end sentinel")                   \
    X(MSR_LRC, -433, "card swipe fails its LRC")                              \
    X(MSR_BADCHAR, -434, "character not allowed on the card track")           \
    X(MSR_FORMAT, -435, "card track fields malformed")                        \
    X(MSR_ISSUER, -436, "card issuer prefix not in the configured table")     \
    X(IRDA_FCS, -440, "IrDA frame fails its FCS")                             \
    X(IRDA_TRUNC, -441, "IrDA frame truncated or aborted")                    \
    X(IRDA_TOOLONG, -442, "IrDA frame longer than the link allows")           \
    X(IRDA_NOLINK, -443, "IrDA peer did not accept the connection")           \
    X(IRDA_DISC, -444, "IrDA peer disconnected")                              \
    X(IRDA_PROTO, -445, "IrDA peer broke the link protocol")                  \
    X(PIN_CANCEL, -450, "PIN entry cancelled")                                \
    X(PRN_COVER, -455, "printer cover open")                                  \
    X(PRN_CHARSET, -456, "text not representable in the printer code page")   \
    X(PRN_STATUS, -457, "printer status reply malformed")                     \
    /* storage */                                                             \
    X(DB, -500, "database error")                                             \
    X(DB_FULL, -501, "database or disk full")                                 \
    X(DB_BUSY, -502, "database busy")                                         \
    X(DB_CORRUPT, -503, "database corrupt")                                  \
    /* ledger */                                                              \
    X(LEDGER_FUNDS, -600, "insufficient funds")                               \
    X(LEDGER_CONFLICT, -601, "transfer id already used with other values")    \
    X(LEDGER_NOACCOUNT, -602, "no such account")                              \
    X(LEDGER_NOHOLD, -603, "no such hold")                                    \
    X(LEDGER_HOLD_CLOSED, -604, "hold already posted, voided or expired")     \
    X(LEDGER_HOLD_EXPIRED, -605, "hold expired")                              \
    X(LEDGER_AMOUNT, -606, "amount invalid or above the hold")                \
    X(LEDGER_ABORTED, -607, "batch transaction rolled back; apply again")     \
    /* registry */                                                            \
    X(REG_AUTH, -620, "unknown voucher or wrong PIN")                         \
    X(REG_FROZEN, -621, "voucher frozen")                                     \
    X(REG_EXPIRED, -622, "voucher expired")                                   \
    X(REG_CANCELLED, -623, "voucher cancelled")                               \
    X(REG_NOTACCEPTED, -624, "voucher not accepted at this merchant")         \
    X(REG_NOPARTIAL, -625, "product does not allow partial use")              \
    X(REG_NUMSPACE, -626, "no free voucher number found for the prefix")     \
    /* acquirer: the host's client of a card acquirer (acquirer.h) */        \
    X(ACQ_BADANSWER, -750, "acquirer's answer does not decode: connection closed") \
    X(ACQ_PROTO, -751, "acquirer's answer breaks the link profile: connection closed") \
    /* SMS and notifications */                                               \
    X(SMS_PHONE, -700, "not a Korean mobile number (01X plus 7 or 8 digits)") \
    X(SMS_TEXT, -701, "text empty, not UTF-8, outside UCS-2 or too long")    \
    X(SMS_CONFLICT, -702, "idempotency key already used with other values")  \
    X(SMS_BIND, -703, "SMSC refused the bind")                                \
    X(SMS_THROTTLED, -704, "SMSC throttled the submit; retry later")          \
    X(SMS_TEMPFAIL, -705, "SMSC failed the submit temporarily; retry later")  \
    X(SMS_REJECTED, -706, "SMSC rejected the message permanently")            \
    X(SMS_PDU, -707, "malformed or unexpected SMPP PDU")                      \
    /* MMS over MM7 (mms.h) */                                                \
    X(MMS_CONTENT, -720, "MMS subject, barcode or add-on list invalid")       \
    X(MMS_BARCODE, -721, "barcode image could not be made")                   \
    X(MMS_ADDON, -722, "add-on file unreadable, too big or of unknown type")  \
    X(MMS_TOOBIG, -723, "MMS larger than the configured maximum")             \
    X(MMS_THROTTLED, -724, "MMSC throttled the submit; retry later")          \
    X(MMS_TEMPFAIL, -725, "MMSC failed the submit temporarily; retry later")  \
    X(MMS_REJECTED, -726, "MMSC rejected the message permanently")            \
    X(MMS_PROTO, -727, "MMSC answer is not an MM7 SubmitRsp")                 \
    X(MMS_HTTP, -728, "HTTP transfer to the MMSC failed")

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
