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
