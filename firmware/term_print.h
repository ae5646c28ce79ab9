/*
 * term_print.h - gl-term's receipts and batch reports (term_*), written
 * through the ESC/POS encoder (drivers/escpos.h), and the report as CSV.
 *
 * Language: every label is in the terminal's configured language
 * (term_ident.lang), the same on receipts, reports and the screen; amounts
 * are printed with thousands separators as "12,500원" in Korean and
 * "12,500 KRW" in English.  Lines are laid out for term_ident.cols
 * columns (a Korean character takes two), labels on the left and values
 * flush right; a pair that does not fit puts the value on the next line.
 *
 * Numbers: a voucher or card number is printed only through gl_mask_pan()
 * (first 6 and last 4 digits at most), and the other free texts that could
 * carry one (the vouchers drawn of DE 48 VD, the CSV's text columns) pass
 * gl_mask_digit_runs(), so no full number reaches paper or a file.
 *
 * Memory: a receipt is formatted in stack buffers into the caller's
 * encoder buffer, with no heap allocation (the encoder converts Korean
 * text without allocating).  Reports query SQLite and may allocate there;
 * they are printed once a day, not per transaction.
 */
#ifndef TERM_PRINT_H
#define TERM_PRINT_H

#include <stdint.h>
#include <stdio.h>

#include <sqlite3.h>

#include "escpos.h"
#include "term_journal.h"
#include "term_msg.h"

/* Columns of a line of Font A on 80 mm paper at 512 dots. */
#define TERM_PRINT_COLS 42
#define TERM_PRINT_COLS_MIN 24
#define TERM_PRINT_COLS_MAX 64

/* Who prints: from the configuration, set at start-up. */
struct term_ident {
    char tid[9], merchant[16]; /* DE 41, DE 42 */
    char header[128];          /* receipt header, UTF-8; "\n" separates lines */
    enum term_lang lang;
    int cols; /* characters per line: 0 means TERM_PRINT_COLS; other values
               * are clamped to TERM_PRINT_COLS_MIN..TERM_PRINT_COLS_MAX */
};

enum term_copy {
    TERM_COPY_MERCHANT = 0,
    TERM_COPY_CUSTOMER = 1,
};

/*
 * Appends the receipt of one journal row t to e (ESC @ first, a partial
 * cut last): header, transaction type, copy label, "*** REPRINT ***" when
 * reprint != 0, "*** OFFLINE ***" for an offline approval; terminal,
 * merchant, date (t->created), cashier, presentation method, masked
 * number; amount requested, and:
 *  - approved (rc 00 or 10, state done or advice): the approved amount;
 *    with rc 10 a bold, double-height line "Left to collect" with amount -
 *    approved, to take by another tender; the approval code;
 *  - declined (any other rc): the code;
 *  - no answer (state pending, reverse, reversed or dropped, or no rc):
 *    nothing more;
 *  - an offline approval the host refused (state refused): as declined,
 *    with the advice's code (adv_rc);
 * then the balance when known (t->has_balance; negative after an offline
 * overdraft), reference number, trace number, original trace number of a
 * void or refund (from DE 90), the vouchers drawn of a card redemption
 * (t->vd), the bold status line (term_msg_rc(), or the no-answer or
 * offline message), and the reference number as a Code 128 bar code.
 *
 * e is not reset: two copies can go into one buffer.  Returns the encoder's
 * verdict (escpos_enc_finish()): GL_OK, GL_ENOSPC (buffer too small: about
 * 1.5 KB is needed, plus 60 bytes per voucher drawn), GL_EINVAL (a control
 * character in the header or a journal text), GL_PRN_CHARSET.
 */
int term_receipt(struct escpos_enc *e, const struct term_ident *id,
                 const struct term_txn *t, enum term_copy copy, int reprint);

/*
 * One figure of a batch report.  Sections, in this order, and their keys:
 *  "type"        redeem, cashout, refund, activate, reload, void (always
 *                all six, zeros included): counted rows and their amounts
 *                (the approved amount; a void: its amount, the original's
 *                approved amount)
 *  "method"      each presentation method present (barcode, card,
 *                contactless, nfc_phone, irda_phone, keyed, then others by
 *                name): counted rows, net amount
 *  "cashier"     each cashier id present, by id ("" when none): counted
 *                rows, net amount
 *  "exception"   void (counted voids, amount), reversal (rows in state
 *                reverse or reversed, amount requested), offline (counted
 *                offline approvals, approved), offline_pending (state
 *                advice: 0220 not yet answered, approved), offline_refused
 *                (state refused, amount), decline (state done with an rc
 *                other than 00 and 10, amount requested)
 *  "settlement"  debits, debit_reversals, credits, credit_reversals (DE
 *                76/88, 77/89, 74/86, 75/87 of docs/host-interface.md
 *                11.8, the same as tj_totals()), inquiries (approved
 *                balance inquiries, amount 0), net (count 0; amount DE 97
 *                signed: >= 0 is D, the issuer owes the merchant; < 0 is C)
 * A net amount adds debits and credit reversals and subtracts credits and
 * debit reversals, so the nets of the methods or of the cashiers add up to
 * the settlement's net.  Counted rows are those of the journal's view
 * `counted` (state done or advice, rc 00 or 10, kind not balance).
 * At the start of each section fn is called once with key NULL (count and
 * amount 0).  Strings are borrowed for the call only.
 */
struct term_figure {
    const char *section;
    const char *key;
    int64_t count;
    int64_t amount;
};

/*
 * Calls fn for every figure of batch bn of the journal db, in the order
 * above; a non-zero return of fn stops the walk and is returned.  GL_OK,
 * GL_DB, GL_DB_BUSY, GL_DB_CORRUPT, GL_ENOMEM.
 */
int term_report_each(sqlite3 *db, int bn,
                     int (*fn)(void *ctx, const struct term_figure *f),
                     void *ctx);

/*
 * Appends the report of batch bn to e: the X report (z = 0, the batch is
 * still open) or the Z report (z = 1, printed after the host accepted the
 * close of bn), with the header, batch number, terminal, merchant, print
 * time when (caller's text, e.g. "2024-11-25 21:00:00"), then each section
 * of term_figure under a title, and a cut.  Returns the first error of the
 * journal (as term_report_each) or of the encoder (as term_receipt; an
 * 8 KB buffer holds a report of about 120 lines).
 */
int term_report(struct escpos_enc *e, sqlite3 *db, const struct term_ident *id,
                int bn, int z, const char *when);

/*
 * The figures of batch bn as CSV on f (RFC 4180, "\n" line ends): the line
 * "section,key,count,amount", then one line per figure of term_figure
 * (section starts omitted).  GL_OK, a journal error, or GL_EIO when f
 * reports a write error.
 */
int term_report_csv(FILE *f, sqlite3 *db, int bn);

/*
 * Every journal row of batch bn as CSV on f, oldest first, for the store
 * manager's reconciliation: the line
 *   id,created,kind,method,cashier,number,amount,approved,rc,auth,rrn,stan,
 *   state,offline,orig_id,voided_by,counted
 * then one line per row.  number is masked (gl_mask_pan); approved is
 * empty when there is none; counted is 1 for a row of the view `counted`.
 * Text fields are quoted when they hold a comma, a quote or a line end.
 * GL_OK, a journal error, or GL_EIO.
 */
int term_rows_csv(FILE *f, sqlite3 *db, int bn);

#endif /* TERM_PRINT_H */
