/*
 * term_msg.h - what gl-term tells the cashier, in Korean or English
 * (term_msg_*).
 *
 * Every text is a constant string in static storage: nothing is formatted
 * here, so a screen or a receipt can show a message without a buffer, and
 * an amount or a number is always shown beside a message, never inside it.
 * Every Korean text is within KS X 1001 (the printer's two-byte code; the
 * unit test prints each one through the ESC/POS encoder).
 *
 * Three kinds of text:
 *  - term_msg_rc(): the cashier message of a DE 39 response code, exactly
 *    the texts of docs/host-interface.md section 6;
 *  - term_msg(): the terminal's own messages (no answer, link down, device
 *    faults, batch close, ...) and the labels of receipts and reports;
 *  - term_msg_kind() / term_msg_method(): the names of the journal's
 *    transaction kinds and presentation methods (firmware/term_journal.h).
 */
#ifndef TERM_MSG_H
#define TERM_MSG_H

enum term_lang {
    TERM_LANG_KO = 0,
    TERM_LANG_EN = 1,
};

/*
 * "ko" -> TERM_LANG_KO, "en" -> TERM_LANG_EN (exactly, as written in
 * gl-term.ini).  GL_OK, or GL_EINVAL for anything else (NULL included), with
 * *out unchanged.
 */
int term_lang_parse(const char *s, enum term_lang *out);

/*
 * The cashier message of DE 39 code rc ("00", "10", "05", ...).  A code that
 * section 6 does not list, or NULL, gives the generic decline ("Declined" /
 * "거절되었습니다", the text of 05).  A language other than the two is
 * taken as Korean.  Returns a static string.
 */
const char *term_msg_rc(const char *rc, enum term_lang lang);

/*
 * The terminal's own messages (screen and receipt), then the labels that
 * receipts and reports print.  Columns: id, English, Korean.
 */
#define TERM_MSG_LIST(X)                                                       \
    /* to the cashier */                                                       \
    X(NO_ANSWER, "No answer from host: transaction cancelled",                 \
      "승인 서버 응답 없음: 거래가 취소되었습니다")                            \
    X(OFFLINE_APPROVED, "Approved offline", "오프라인 승인")                   \
    X(LINK_DOWN, "Host link down: try again",                                  \
      "승인 서버 연결이 끊겼습니다: 다시 시도하세요")                          \
    X(REVERSAL_PENDING, "Previous transaction is being cancelled: wait",       \
      "이전 거래를 취소하는 중입니다: 잠시 기다리세요")                        \
    X(PRESENT_VOUCHER, "Scan, swipe or tap the voucher",                       \
      "상품권을 스캔하거나 카드를 긁거나 대 주세요")                           \
    X(ENTER_PIN, "Customer: enter PIN", "고객님: 비밀번호를 입력하세요")       \
    X(PIN_CANCELLED, "PIN entry cancelled", "비밀번호 입력이 취소되었습니다")  \
    X(CARD_REMOVED, "Card or phone removed: try again",                        \
      "카드 또는 휴대폰이 떨어졌습니다: 다시 시도하세요")                      \
    X(NO_CARD, "No card or phone presented",                                   \
      "카드 또는 휴대폰이 인식되지 않았습니다")                                \
    X(BAD_SCAN, "Not a voucher number: scan again",                            \
      "상품권 번호가 아닙니다: 다시 스캔하세요")                               \
    X(BAD_SWIPE, "Bad swipe: swipe again",                                     \
      "카드를 읽지 못했습니다: 다시 긁어 주세요")                              \
    X(PHONE_PIN_WRONG, "Wrong PIN on the phone: try again",                    \
      "휴대폰 비밀번호가 틀렸습니다: 다시 시도하세요")                         \
    X(PHONE_PIN_BLOCKED, "PIN blocked on the phone: customer must unlock it",  \
      "휴대폰 비밀번호가 잠겼습니다: 고객님이 잠금을 해제해야 합니다")         \
    X(PHONE_NO_VOUCHER, "No voucher on the phone",                             \
      "휴대폰에 사용할 상품권이 없습니다")                                     \
    X(COLLECT_REST, "Collect the rest another way",                            \
      "나머지 금액은 다른 결제수단으로 받으세요")                              \
    X(CLOSE_OK, "Batch closed", "정산이 마감되었습니다")                       \
    X(CLOSE_UPLOAD, "Close out of balance: uploading",                         \
      "정산 불일치: 거래 내역을 전송합니다")                                   \
    X(CLOSE_FAILED, "Close failed: call support",                              \
      "정산 마감 실패: 고객센터에 문의하세요")                                 \
    X(CLOSE_PENDING, "Cannot close: transactions still being sent",            \
      "마감할 수 없습니다: 아직 전송 중인 거래가 있습니다")                    \
    X(PRINTER_PAPER, "Printer out of paper: load paper, then reprint",         \
      "용지가 없습니다: 용지를 넣은 후 재발행하세요")                          \
    X(PRINTER_OFFLINE, "Printer not ready: check cover and cable",             \
      "프린터가 준비되지 않았습니다: 덮개와 케이블을 확인하세요")              \
    X(NOTHING_TO_VOID, "No transaction to void", "취소할 거래가 없습니다")     \
    X(NOTHING_TO_REPRINT, "No receipt to reprint",                             \
      "재발행할 영수증이 없습니다")                                            \
    X(SIGNED_ON, "Connected to host", "승인 서버에 연결되었습니다")            \
    X(SIGN_ON_REFUSED, "Host refused this terminal: call support",             \
      "승인 서버가 단말기를 거부했습니다: 고객센터에 문의하세요")              \
    X(KEYS_EXHAUSTED, "PIN/MAC keys used up: call support",                    \
      "보안 키를 모두 사용했습니다: 고객센터에 문의하세요")                    \
    X(NO_DEVICE, "No such reader on this terminal",                            \
      "이 단말기에는 해당 리더기가 없습니다")                                  \
    X(JOURNAL_FULL, "Terminal storage full: sale cancelled, call support",  \
      "단말기 저장 공간 부족: 거래가 취소되었습니다. 고객센터에 문의하세요")   \
    X(SYSTEM_ERROR, "Terminal error: call support",                            \
      "단말기 오류: 고객센터에 문의하세요")                                    \
    /* receipt labels */                                                       \
    X(L_MERCHANT_COPY, "MERCHANT COPY", "가맹점용")                            \
    X(L_CUSTOMER_COPY, "CUSTOMER COPY", "고객용")                              \
    X(L_REPRINT, "*** REPRINT ***", "*** 재발행 ***")                          \
    X(L_OFFLINE, "*** OFFLINE ***", "*** 오프라인 ***")                        \
    X(L_TERMINAL, "Terminal", "단말기")                                        \
    X(L_MERCHANT, "Merchant", "가맹점")                                        \
    X(L_DATE, "Date", "거래 일시")                                             \
    X(L_CASHIER, "Cashier", "계산원")                                          \
    X(L_METHOD, "Presented by", "입력 방식")                                   \
    X(L_VOUCHER_NO, "Voucher no.", "상품권 번호")                              \
    X(L_CARD_NO, "Card no.", "카드 번호")                                      \
    X(L_AMOUNT, "Amount", "요청 금액")                                         \
    X(L_APPROVED, "Approved amount", "승인 금액")                              \
    X(L_TO_COLLECT, "Left to collect", "추가 결제 금액")                       \
    X(L_BALANCE, "Balance", "잔액")                                            \
    X(L_AUTH, "Approval code", "승인 번호")                                    \
    X(L_RRN, "Reference no.", "거래 참조 번호")                                \
    X(L_STAN, "Trace no.", "일련번호")                                         \
    X(L_ORIGINAL, "Original trace no.", "원거래 일련번호")                     \
    X(L_RESPONSE, "Response code", "응답 코드")                                \
    X(L_VOUCHERS_USED, "Vouchers used", "사용된 상품권")                       \
    /* report labels */                                                        \
    X(L_X_REPORT, "X REPORT", "X 리포트")                                      \
    X(L_Z_REPORT, "Z REPORT", "Z 리포트")                                      \
    X(L_X_NOTE, "Batch open: interim totals", "중간 집계 (정산 전)")           \
    X(L_Z_NOTE, "Batch closed", "정산 마감 완료")                              \
    X(L_BATCH, "Batch", "배치 번호")                                           \
    X(L_PRINTED, "Printed", "출력 일시")                                       \
    X(L_COUNT, "Count", "건수")                                                \
    X(L_SUM, "Amount", "금액")                                                 \
    X(L_BY_TYPE, "By transaction type", "거래 종류별")                         \
    X(L_BY_METHOD, "By method (net)", "입력 방식별 (순액)")                    \
    X(L_BY_CASHIER, "By cashier (net)", "계산원별 (순액)")                     \
    X(L_EXCEPTIONS, "Voids, reversals, offline", "취소, 망취소, 오프라인")     \
    X(L_VOIDS, "Voids", "거래 취소")                                           \
    X(L_REVERSALS, "Reversals", "망취소")                                      \
    X(L_OFFLINE_ALL, "Offline approvals", "오프라인 승인")                     \
    X(L_OFFLINE_WAITING, "  not yet sent", "  전송 대기")                      \
    X(L_OFFLINE_REFUSED, "  refused by host", "  서버 거절")                   \
    X(L_DECLINES, "Declines", "거절")                                          \
    X(L_SETTLEMENT, "Settlement", "정산")                                      \
    X(L_DEBITS, "Debits", "사용/현금 환급")                                    \
    X(L_DEBIT_REVERSALS, "Debit reversals", "사용 취소")                       \
    X(L_CREDITS, "Credits", "판매/충전/환불")                                  \
    X(L_CREDIT_REVERSALS, "Credit reversals", "판매/충전/환불 취소")           \
    X(L_INQUIRIES, "Balance inquiries", "잔액 조회")                           \
    X(L_NET, "Net", "정산 순액")

enum term_msg_id {
#define TERM_MSG_ENUM_(id, en, ko) TERM_MSG_##id,
    TERM_MSG_LIST(TERM_MSG_ENUM_)
#undef TERM_MSG_ENUM_
        TERM_MSG_COUNT_
};

/* The text of id in lang (a language other than the two is taken as
 * Korean).  An id out of range is a programmer error (asserted).  Returns
 * a static string. */
const char *term_msg(enum term_msg_id id, enum term_lang lang);

/*
 * The name of a journal transaction kind ("redeem", "balance", "refund",
 * "void", "activate", "reload", "cashout"), e.g. "Redemption" / "상품권
 * 사용".  An unknown kind is returned itself (borrowed from the caller);
 * NULL gives "".
 */
const char *term_msg_kind(const char *kind, enum term_lang lang);

/*
 * The name of a journal presentation method ("barcode", "card",
 * "contactless", "nfc_phone", "irda_phone", "keyed").  Unknown: the method
 * itself (borrowed); NULL: "".
 */
const char *term_msg_method(const char *method, enum term_lang lang);

#endif /* TERM_MSG_H */
