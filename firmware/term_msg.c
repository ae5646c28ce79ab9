/*
 * term_msg.c - cashier messages and labels in Korean and English
 * (term_msg.h).
 */
#include "term_msg.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "gl_err.h"

struct msg_text {
    const char *en, *ko;
};

/* Section 6 of docs/host-interface.md, in its order. */
static const struct {
    char rc[3];
    struct msg_text t;
} RC_MSGS[] = {
    {"00", {"Approved", "승인되었습니다"}},
    {"10",
     {"Partly approved: collect the rest another way",
      "부분 승인: 나머지 금액은 다른 결제수단으로 받으세요"}},
    {"05", {"Declined", "거절되었습니다"}},
    {"12", {"Transaction not allowed", "처리할 수 없는 거래입니다"}},
    {"13", {"Invalid amount", "금액이 올바르지 않습니다"}},
    {"14", {"Invalid number or PIN", "번호 또는 비밀번호가 올바르지 않습니다"}},
    {"25", {"Original transaction not found", "원거래를 찾을 수 없습니다"}},
    {"30",
     {"System error: call support", "시스템 오류: 고객센터에 문의하세요"}},
    {"51", {"Insufficient balance", "잔액이 부족합니다"}},
    {"54", {"Expired", "유효기간이 지났습니다"}},
    {"55", {"Wrong PIN: ask again", "비밀번호가 틀렸습니다"}},
    {"57",
     {"Not allowed for this voucher", "이 상품권으로는 할 수 없는 거래입니다"}},
    {"58",
     {"Not accepted at this store", "이 가맹점에서는 사용할 수 없습니다"}},
    {"61", {"Over the limit", "한도를 초과했습니다"}},
    {"62",
     {"Frozen: customer must call the issuer",
      "사용이 정지되었습니다: 발행사에 문의하세요"}},
    {"75",
     {"PIN locked: too many wrong PINs",
      "비밀번호 오류 횟수 초과로 잠겼습니다"}},
    {"78", {"Not activated", "활성화되지 않은 상품권입니다"}},
    {"91",
     {"Host unavailable: try again",
      "승인 서버에 연결할 수 없습니다. 다시 시도하세요"}},
    {"94", {"Duplicate transaction", "중복 거래입니다"}},
    {"95",
     {"Close out of balance: uploading",
      "정산 불일치: 거래 내역을 전송합니다"}},
    {"96", {"System error: try again", "시스템 오류: 다시 시도하세요"}},
};
#define N_RC_MSGS (sizeof RC_MSGS / sizeof RC_MSGS[0])
#define RC_GENERIC 2 /* 05: the generic decline */

static const struct msg_text MSGS[TERM_MSG_COUNT_] = {
#define TERM_MSG_TEXT_(id, en, ko) [TERM_MSG_##id] = {en, ko},
    TERM_MSG_LIST(TERM_MSG_TEXT_)
#undef TERM_MSG_TEXT_
};

static const struct {
    const char *code;
    struct msg_text t;
} KINDS[] = {
    {"redeem", {"Redemption", "상품권 사용"}},
    {"balance", {"Balance inquiry", "잔액 조회"}},
    {"refund", {"Refund", "환불"}},
    {"void", {"Void", "거래 취소"}},
    {"activate", {"Activation", "상품권 판매"}},
    {"reload", {"Reload", "충전"}},
    {"cashout", {"Cash-out", "잔액 현금 환급"}},
};

static const struct {
    const char *code;
    struct msg_text t;
} METHODS[] = {
    {"barcode", {"Barcode", "바코드"}},
    {"card", {"Magstripe card", "마그네틱 카드"}},
    {"contactless", {"Contactless card", "비접촉 카드"}},
    {"nfc_phone", {"Phone (NFC)", "휴대폰 (NFC)"}},
    {"irda_phone", {"Phone (IrDA)", "휴대폰 (적외선)"}},
    {"keyed", {"Keyed", "수기 입력"}},
};

static const char *pick(const struct msg_text *t, enum term_lang lang)
{
    return lang == TERM_LANG_EN ? t->en : t->ko;
}

int term_lang_parse(const char *s, enum term_lang *out)
{
    if (s != NULL && strcmp(s, "ko") == 0) {
        *out = TERM_LANG_KO;
        return GL_OK;
    }
    if (s != NULL && strcmp(s, "en") == 0) {
        *out = TERM_LANG_EN;
        return GL_OK;
    }
    return GL_EINVAL;
}

const char *term_msg_rc(const char *rc, enum term_lang lang)
{
    if (rc != NULL) {
        for (size_t i = 0; i < N_RC_MSGS; i++) {
            if (strcmp(rc, RC_MSGS[i].rc) == 0) {
                return pick(&RC_MSGS[i].t, lang);
            }
        }
    }
    return pick(&RC_MSGS[RC_GENERIC].t, lang);
}

const char *term_msg(enum term_msg_id id, enum term_lang lang)
{
    assert(id >= 0 && id < TERM_MSG_COUNT_);
    return pick(&MSGS[id], lang);
}

const char *term_msg_kind(const char *kind, enum term_lang lang)
{
    if (kind == NULL) {
        return "";
    }
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++) {
        if (strcmp(kind, KINDS[i].code) == 0) {
            return pick(&KINDS[i].t, lang);
        }
    }
    return kind;
}

const char *term_msg_method(const char *method, enum term_lang lang)
{
    if (method == NULL) {
        return "";
    }
    for (size_t i = 0; i < sizeof METHODS / sizeof METHODS[0]; i++) {
        if (strcmp(method, METHODS[i].code) == 0) {
            return pick(&METHODS[i].t, lang);
        }
    }
    return method;
}
