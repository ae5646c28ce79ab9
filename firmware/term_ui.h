/*
 * term_ui.h - one cashier command and its outcome (term_ui.c), for the
 * scripted mode and the screen.
 */
#ifndef TERM_UI_H
#define TERM_UI_H

#include <stddef.h>

struct term;

struct ui_out {
    char cmd[16];
    char rc[3];        /* DE 39, or "-" */
    char msg[160];     /* the cashier message, UTF-8 */
    char extra[600];   /* " key=value" pairs */
    char error[200];   /* a command that could not run: why */
};

/* Runs one command line (modified).  GL_ENOTFOUND with o->cmd empty for a
 * blank line or a comment. */
int ui_exec(struct term *t, char *line, struct ui_out *o);
/* The result line of the scripted mode. */
void ui_format(const struct ui_out *o, char *buf, size_t cap);

#endif /* TERM_UI_H */
