/*
 * ledger_int.h - ledger internals shared with the registry.
 *
 * These run inside a transaction the caller already holds (store_op_begin);
 * they never begin, commit or roll back.  The registry uses them to create a
 * voucher, its account and its issuing transfer in one transaction.
 */
#ifndef LEDGER_INT_H
#define LEDGER_INT_H

#include "ledger.h"

int ledger__account_ensure(struct ledger *l, int kind, const char *ref,
                           unsigned flags, int64_t *id);
int ledger__account_get(struct ledger *l, int64_t id,
                        struct ledger_account *out);
int ledger__transfer(struct ledger *l, const struct ledger_transfer *t,
                     struct ledger_result *res);

#endif /* LEDGER_INT_H */
