# lib/iso8583: the ISO 8583:1987 codec, framing, TLV, printer; gl-iso tool.
GL_LIB_SRCS += lib/iso8583/iso_fields.c lib/iso8583/iso8583.c \
               lib/iso8583/iso_util.c
GL_INCLUDES += -Ilib/iso8583
GL_PROGS    += gl-iso
gl-iso_SRCS := lib/iso8583/gl_iso.c
