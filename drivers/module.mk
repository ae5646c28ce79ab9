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
