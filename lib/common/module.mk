# lib/common: errors, logging with masking, configuration.
GL_LIB_SRCS += lib/common/gl_err.c lib/common/gl_log.c lib/common/gl_config.c \
               lib/common/gl_text.c
GL_INCLUDES += -Ilib/common
