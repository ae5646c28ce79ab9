# drivers: devices built on the HAL.  Each group of drivers keeps its lines
# in its own block below.

# serial devices
GL_INCLUDES += -Idrivers
GL_LIB_SRCS += drivers/scanner.c drivers/magstripe.c drivers/irda.c \
               drivers/pinpad.c drivers/escpos.c
# end serial devices

# nfc
GL_LIB_SRCS += drivers/nfc_reader.c drivers/phone_wallet.c
# end nfc

# fuzz harnesses (tests/fuzz): driver sources each one links
fuzz_scanner_FUZZ_SRCS += drivers/scanner.c hal/serial.c
fuzz_magstripe_FUZZ_SRCS += drivers/magstripe.c hal/serial.c
fuzz_irda_FUZZ_SRCS += drivers/irda.c hal/serial.c hal/clock.c
fuzz_escpos_FUZZ_SRCS += drivers/escpos.c hal/serial.c
# end fuzz harnesses
