# hal: the hardware seam (network + TLS, serial ports, NFC, clock).
# Each interface keeps its lines in its own block below.

# net
GL_INCLUDES += -Ihal
GL_LIB_SRCS += hal/net.c

# serial nfc clock
# (hal/pty_ioctl.c is test-only: never in GL_LIB_SRCS; programs that open a
# pty through libserialport list it as an extra source.)
GL_LIB_SRCS += hal/serial.c hal/nfc.c hal/clock.c
test_hal_EXTRA := hal/pty_ioctl.c tests/emulators/emu_pty.c

# The same interposer as a preloadable library, for running the unchanged
# gl-term against emulated serial devices on ptys (tests, `make demo`):
#   LD_PRELOAD=$(BUILD)/lib/libgl-ptyioctl.so gl-term ...
# Built without sanitizers, so it loads into either build.
GL_EXTRA_TARGETS += $(BUILD)/lib/libgl-ptyioctl.so
$(BUILD)/lib/libgl-ptyioctl.so: hal/pty_ioctl.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(WARN) -O2 -g -D_GNU_SOURCE -fPIC -shared -o $@ $< -ldl
# end serial nfc clock
