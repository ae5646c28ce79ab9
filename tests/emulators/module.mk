# tests/emulators: device emulators speaking the real wire protocols.
# Each emulator keeps its lines in its own block below.

# pn532
# (the phone's wallet, wallet_emu.c, is shared with the IrDA phone)
test_nfc_EXTRA := tests/emulators/pn532_emu.c tests/emulators/wallet_emu.c \
                  tests/emulators/emu_pty.c
# end pn532

# serial devices
# The scanner, magstripe, IrDA phone and ESC/POS printer emulators
# (serial_emu.h) and the ESC/POS decoder, linked into the device tests and
# into gl-emu with the pty helpers and the test-only ioctl interposer.
GL_INCLUDES += -Itests/emulators
SEMU_SRCS := tests/emulators/serial_emu.c tests/emulators/scanner_emu.c \
             tests/emulators/magstripe_emu.c tests/emulators/irda_emu.c \
             tests/emulators/printer_emu.c tests/emulators/escpos_decode.c \
             tests/emulators/wallet_emu.c tests/emulators/emu_pty.c \
             hal/pty_ioctl.c
GL_PROGS += gl-emu
gl-emu_SRCS := tests/emulators/gl_emu.c tests/emulators/pn532_emu.c $(SEMU_SRCS)
test_scanner_EXTRA := $(SEMU_SRCS)
test_magstripe_EXTRA := $(SEMU_SRCS)
test_irda_EXTRA := $(SEMU_SRCS)
test_escpos_EXTRA := $(SEMU_SRCS)
# the receipt test renders decoded bar codes with libzint (zbarimg reads them)
$(BUILD)/tests/test_escpos: LDLIBS += -lzint
# fuzz harnesses (tests/fuzz) of emulator code; the driver sources they
# link are listed in drivers/module.mk
fuzz_escpos_FUZZ_SRCS += tests/emulators/escpos_decode.c
# end serial devices

# acquirer
# The acquirer emulator (acq_emu.h): linked into test_acquirer, and the
# program gl-acq.  gl-acq's object is acq_emu.c compiled again with
# -DACQ_EMU_MAIN (its main()), so the test links the file without one.
test_acquirer_EXTRA := tests/emulators/acq_emu.c
GL_PROGS += gl-acq
gl-acq_SRCS := tests/emulators/acq_emu_main.c
$(BUILD)/obj/tests/emulators/acq_emu_main.o: tests/emulators/acq_emu.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(GL_INCLUDES) -DACQ_EMU_MAIN -c $< -o $@
# end acquirer

# notify
# The SMSC emulator (smsc_emu.h): linked into test_notify, and the program
# gl-smsc, whose object is smsc_emu.c compiled again with -DSMSC_EMU_MAIN.
# Both link the runner it shares with the MMSC emulator (ctl_emu.h).
CTL_EMU_SRCS := tests/emulators/ctl_emu.c
test_notify_EXTRA := tests/emulators/smsc_emu.c $(CTL_EMU_SRCS)
GL_PROGS += gl-smsc
gl-smsc_SRCS := tests/emulators/smsc_emu_main.c $(CTL_EMU_SRCS)
$(BUILD)/obj/tests/emulators/smsc_emu_main.o: tests/emulators/smsc_emu.c \
                                              | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(GL_INCLUDES) -DSMSC_EMU_MAIN -c $< -o $@
# end notify

# mms
# The MMSC emulator (mmsc_emu.h, MM7 over HTTP on libmicrohttpd): linked
# into test_mms (host-server/module.mk), and the program gl-mmsc, whose
# object is mmsc_emu.c compiled again with -DMMSC_EMU_MAIN; both with the
# runner ctl_emu.c.
GL_PROGS += gl-mmsc
gl-mmsc_SRCS := tests/emulators/mmsc_emu_main.c $(CTL_EMU_SRCS)
$(BUILD)/obj/tests/emulators/mmsc_emu_main.o: tests/emulators/mmsc_emu.c \
                                              | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(GL_INCLUDES) -DMMSC_EMU_MAIN -c $< -o $@
# the MMSC's answers as the host parses them (tests/fuzz/fuzz_mm7.c)
fuzz_mm7_FUZZ_SRCS += host-server/mms.c
# end mms
