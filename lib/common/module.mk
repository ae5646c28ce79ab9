# lib/common: errors, logging with masking, configuration, SQLite
# statements (gl_sql: the one translation of SQLite codes), amounts and KST
# dates for messages (gl_text).
GL_LIB_SRCS += lib/common/gl_err.c lib/common/gl_log.c lib/common/gl_config.c \
               lib/common/gl_sql.c lib/common/gl_text.c
GL_INCLUDES += -Ilib/common
