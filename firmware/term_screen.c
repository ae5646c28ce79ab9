/*
 * term_screen.c - the cashier's screen (ncurses, UTF-8: Korean messages
 * need the wide-character library).
 *
 *   +-- gl-term GLT00001 · 가맹점 GLM... · batch 000001 · host: up ------+
 *   | results, newest last: the cashier message first, then the figures |
 *   |                                                                    |
 *   +-- > redeem 10000 scan ---------------------------------------------+
 *
 * The cashier types the same commands as the scripted mode (term_ui.c);
 * the screen shows the answer as words, not as a result line.  While a
 * command runs the screen says what the terminal waits for (a scan, the
 * customer's PIN, the host).  F10 or `quit` ends the day's session.
 */
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ncurses.h>

#include "gl_err.h"
#include "gl_log.h"
#include "term.h"
#include "term_ui.h"

int term_should_stop(const struct term *t);

static WINDOW *g_head, *g_body, *g_input;

static void draw_head(const struct term *t)
{
    werase(g_head);
    wattron(g_head, A_REVERSE);
    mvwprintw(g_head, 0, 0, " gl-term %s | %s | batch %06d | host: %s | %s ",
              t->cfg.tid, t->cfg.merchant, t->batch,
              t->link.signed_on ? "up" : "down", t->cfg.cashier);
    wclrtoeol(g_head);
    wattroff(g_head, A_REVERSE);
    wrefresh(g_head);
}

static void say(const char *s)
{
    wprintw(g_body, "%s\n", s);
    wrefresh(g_body);
}

static void show(const struct term *t, const struct ui_out *o)
{
    char line[800];
    if (o->error[0] != '\0') {
        snprintf(line, sizeof line, "! %s", o->error);
        say(line);
        return;
    }
    int ok = strcmp(o->rc, "00") == 0 || strcmp(o->rc, "10") == 0;
    if (ok) {
        wattron(g_body, A_BOLD);
    }
    snprintf(line, sizeof line, "%s %s", ok ? "✔" : (o->rc[0] == '-' ? "·" : "✘"),
             o->msg[0] ? o->msg : o->cmd);
    say(line);
    if (ok) {
        wattroff(g_body, A_BOLD);
    }
    if (o->extra[0] != '\0') {
        snprintf(line, sizeof line, "   %s", o->extra);
        say(line);
    }
    (void)t;
}

static void prompt(struct term *t, enum term_msg_id id)
{
    char line[200];
    snprintf(line, sizeof line, "   … %s", term_msg(id, t->lang));
    say(line);
}

int ui_run_screen(struct term *t)
{
    char line[256];
    size_t len = 0;

    setlocale(LC_ALL, "");
    if (initscr() == NULL) {
        fprintf(stderr, "gl-term: no terminal for the screen; use --script\n");
        return 1;
    }
    cbreak();
    noecho();
    int rows = LINES, cols = COLS;
    g_head = newwin(1, cols, 0, 0);
    g_body = newwin(rows - 3, cols, 1, 0);
    g_input = newwin(2, cols, rows - 2, 0);
    scrollok(g_body, TRUE);
    keypad(g_input, TRUE);
    wtimeout(g_input, 0);
    t->prompt = prompt;
    say(term_msg(TERM_MSG_PRESENT_VOUCHER, t->lang));
    say("redeem AMOUNT scan|card|nfc|irda|key:NUMBER · balance · refund · void · "
        "activate · reload · cashout · close · report · reprint · quit");
    while (!term_should_stop(t)) {
        draw_head(t);
        werase(g_input);
        mvwhline(g_input, 0, 0, ACS_HLINE, cols);
        mvwprintw(g_input, 1, 0, "> %.*s", (int)len, line);
        wrefresh(g_input);
        struct pollfd p[2] = {{.fd = 0, .events = POLLIN},
                              {.fd = link_fd(t), .events = POLLIN}};
        int n = poll(p, p[1].fd >= 0 ? 2 : 1, 1000);
        if (n > 0 && (p[0].revents & POLLIN)) {
            int ch;
            while ((ch = wgetch(g_input)) != ERR) {
                if (ch == KEY_F(10)) {
                    t->stopping = 1;
                    break;
                }
                if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
                    struct ui_out o;
                    char shown[sizeof line];
                    line[len] = '\0';
                    len = 0;
                    /* the history keeps keyed numbers masked */
                    memcpy(shown, line, sizeof shown);
                    gl_mask_digit_runs(shown, strlen(shown));
                    say(shown);
                    /* the PIN pad reads the keyboard itself while it asks;
                     * nothing it reads is echoed */
                    int rc = ui_exec(t, line, &o);
                    if (!(rc == GL_ENOTFOUND && o.cmd[0] == '\0')) {
                        show(t, &o);
                    }
                    break;
                }
                if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && len > 0) {
                    len--;
                } else if (ch >= 0x20 && ch < 0x7f && len + 1 < sizeof line) {
                    line[len++] = (char)ch;
                }
            }
        }
        link_tick(t);
        if (tx_journal_retry(t) == GL_OK) {
            (void)tx_flush(t, 0);
        }
    }
    t->prompt = NULL;
    delwin(g_head);
    delwin(g_body);
    delwin(g_input);
    endwin();
    return 0;
}
