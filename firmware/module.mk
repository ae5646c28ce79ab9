# firmware: gl-term, the terminal application at the counter.
# Each group keeps its lines in its own block below.

# journal and printing (library code: the unit tests link them)
GL_INCLUDES += -Ifirmware
GL_LIB_SRCS += firmware/term_journal.c firmware/term_print.c \
               firmware/term_msg.c
test_term_print_EXTRA := tests/emulators/escpos_decode.c
# end journal and printing

# gl-term
GL_PROGS += gl-term
gl-term_SRCS := firmware/term_main.c firmware/term_config.c \
                firmware/term_link.c firmware/term_txn.c \
                firmware/term_dev.c firmware/term_ui.c \
                firmware/term_screen.c
# end gl-term
