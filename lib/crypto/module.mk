# lib/crypto: the only caller of mbedTLS's crypto primitives: AES/TDES DUKPT,
# ISO 9564 PIN blocks, AES-CMAC and the retail MAC, the link's message MAC
# (crypto_mac_msg.c uses the codec of lib/iso8583).
GL_LIB_SRCS += lib/crypto/crypto.c lib/crypto/crypto_dukpt.c \
               lib/crypto/crypto_pinblock.c lib/crypto/crypto_mac_msg.c
GL_INCLUDES += -Ilib/crypto
