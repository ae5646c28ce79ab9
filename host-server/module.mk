# host-server: gl-hostd and the admin tool glctl.

# glctl
# glctl_pki.c is library code too: the TLS tests and benchmarks create their
# certificates through its C API (the bench rule links only the library).
GL_INCLUDES += -Ihost-server
GL_LIB_SRCS += host-server/glctl_pki.c
GL_PROGS += glctl
glctl_SRCS := host-server/glctl.c host-server/glctl_ikey.c \
              host-server/glctl_registry.c

# ledger
# Storage interface (SQLite backend), the double-entry ledger, the registry
# of products, vouchers, members, merchants, stores and terminals.
GL_LIB_SRCS += host-server/store.c host-server/store_sqlite.c \
               host-server/ledger.c host-server/registry.c \
               host-server/voucher_num.c

# hostd
# gl-hostd, the authorization host (hostd.h); its own tables live in the
# ledger's database (hostd_db.c).
GL_PROGS += gl-hostd
gl-hostd_SRCS := host-server/hostd_main.c host-server/hostd_config.c \
                 host-server/hostd_db.c host-server/hostd_proc.c \
                 host-server/hostd_loop.c

# acquirer
# The host's client of a card acquirer (acquirer.h, docs/acquirer-link.md).
GL_LIB_SRCS += host-server/acquirer.c
# end acquirer

# notify
# The notification outbox (a table of the host's database) and its SMS
# sender over SMPP 3.4 (notify.h, smpp_client.h, docs/notifications.md).
GL_LIB_SRCS += host-server/notify.c host-server/smpp_client.c
# what an SMSC sends to the bound client (tests/fuzz/fuzz_smpp_receipt.c)
fuzz_smpp_receipt_FUZZ_SRCS += host-server/smpp_client.c
# end notify

# shop
# The customer's purchase of vouchers (shop.h): phone bill or card, issue,
# ledger and SMS in one transaction; its test drives the acquirer emulator.
GL_LIB_SRCS += host-server/shop.c
test_shop_EXTRA := tests/emulators/acq_emu.c
# end shop

# webd
# gl-webd, the customer HTTP JSON API (webd.h, docs/customer-api.md): a
# process of its own beside gl-hostd, sharing only the database.
GL_PROGS += gl-webd
gl-webd_SRCS := host-server/webd_main.c host-server/webd_config.c \
                host-server/webd_db.c host-server/webd_http.c \
                host-server/webd_sender.c host-server/webd_api.c \
                host-server/webd_card.c
# the whole request path over loopback (tests/fuzz/fuzz_webd_http.c): the
# webd sources but main, and what they link of the library
fuzz_webd_http_FUZZ_SRCS += $(filter-out host-server/webd_main.c,\
                              $(gl-webd_SRCS)) \
    host-server/store.c host-server/store_sqlite.c host-server/ledger.c \
    host-server/registry.c host-server/voucher_num.c host-server/acquirer.c \
    host-server/notify.c host-server/smpp_client.c host-server/shop.c \
    host-server/online.c host-server/mms.c host-server/gift.c \
    hal/net.c hal/clock.c $(wildcard lib/crypto/*.c)
# end webd

# online
# Vouchers used in merchants' web shops (online.h): API keys, authorize /
# capture / void on the ledger's holds, the standard terms (cash-out rule,
# expiry notices, extension).  Its tables live in the host's database.
GL_LIB_SRCS += host-server/online.c
# end online

# mms
# MMS over MM7 (mms.h): the SubmitReq built and posted with libcurl, the
# voucher's barcode drawn by libzint as PNG (libpng); the outbox sends its
# mms rows through it (notify.c).  Its test drives the MMSC emulator.
GL_LIB_SRCS += host-server/mms.c
test_mms_EXTRA := tests/emulators/mmsc_emu.c tests/emulators/smsc_emu.c \
                  tests/emulators/ctl_emu.c
# end mms

# gift
# The customer's gift of vouchers (gift.h): reservation, parts, claim link,
# accept/refuse/expiry with the SMS in one transaction; the add-on catalogue.
GL_LIB_SRCS += host-server/gift.c
# end gift
