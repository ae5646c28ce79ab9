/*
 * glctl.c - the host's admin tool: `glctl <group> <command> [options]`.
 *
 * Contract:
 *  - Every command is one row of glctl_cmds: {group, command, function,
 *    one-line help}.  Adding a group (merchant, terminal, voucher, ledger)
 *    is adding rows; the help at every level is generated from the table.
 *  - A command function gets argc/argv with argv[0] = the command name and
 *    its options after it, prints results to stdout and errors to stderr,
 *    handles its own --help, and returns the exit status: 0 done, 1 the
 *    operation failed, 2 usage error.
 *  - `glctl --help`, `glctl GROUP --help` print to stdout and exit 0; an
 *    unknown group or command prints the usage to stderr and exits 2.
 *  - The registry and ledger groups (merchant, store, terminal, product,
 *    member, voucher, ledger) live in glctl_registry.c, which has its own
 *    table and help; they are dispatched to it whole.
 */
#include <stdio.h>
#include <string.h>

#include "glctl_ikey.h"
#include "glctl_pki.h"
#include "glctl_registry.h"

struct glctl_cmd {
    const char *group;
    const char *command;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct glctl_cmd glctl_cmds[] = {
    {"pki", "ca", glctl_pki_cmd_ca,
     "create the deployment CA (ca.crt, ca.key)"},
    {"pki", "host", glctl_pki_cmd_host,
     "create the host's key and certificate, signed by the CA"},
    {"pki", "terminal", glctl_pki_cmd_terminal,
     "create a terminal's key and certificate (CN = terminal id)"},
    {"pki", "ikey", glctl_pki_ikey, "DUKPT initial keys of terminals"},
    {"pki", "bdk", glctl_pki_bdk, "DUKPT base derivation keys"},
};

#define GLCTL_NCMDS (sizeof glctl_cmds / sizeof glctl_cmds[0])

static int glctl_is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 ||
           strcmp(a, "help") == 0;
}

static int glctl_group_known(const char *group)
{
    for (size_t i = 0; i < GLCTL_NCMDS; i++) {
        if (strcmp(glctl_cmds[i].group, group) == 0) {
            return 1;
        }
    }
    return 0;
}

static void glctl_usage(FILE *f)
{
    fputs("usage: glctl <group> <command> [options]\n"
          "       glctl <group> --help | glctl <group> <command> --help\n"
          "groups:\n",
          f);
    for (size_t i = 0; i < GLCTL_NCMDS; i++) {
        int first = 1;
        for (size_t j = 0; j < i; j++) {
            if (strcmp(glctl_cmds[j].group, glctl_cmds[i].group) == 0) {
                first = 0;
                break;
            }
        }
        if (!first) {
            continue;
        }
        fprintf(f, "  %-10s", glctl_cmds[i].group);
        for (size_t j = i; j < GLCTL_NCMDS; j++) {
            if (strcmp(glctl_cmds[j].group, glctl_cmds[i].group) == 0) {
                fprintf(f, " %s", glctl_cmds[j].command);
            }
        }
        fputc('\n', f);
    }
    for (unsigned i = 0; i < glctl_registry_ncmds; i++) {
        const struct glctl_registry_cmd *c = &glctl_registry_cmds[i];
        if (i == 0 || strcmp(glctl_registry_cmds[i - 1].group, c->group) != 0) {
            fprintf(f, "%s  %-10s", i == 0 ? "" : "\n", c->group);
        }
        fprintf(f, " %s", c->command);
    }
    if (glctl_registry_ncmds > 0) {
        fputc('\n', f);
    }
}

static void glctl_group_usage(FILE *f, const char *group)
{
    fprintf(f, "usage: glctl %s <command> [options]\ncommands:\n", group);
    for (size_t i = 0; i < GLCTL_NCMDS; i++) {
        if (strcmp(glctl_cmds[i].group, group) == 0) {
            fprintf(f, "  %-10s %s\n", glctl_cmds[i].command,
                    glctl_cmds[i].help);
        }
    }
    fprintf(f, "'glctl %s <command> --help' for a command's options\n", group);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        glctl_usage(stderr);
        return 2;
    }
    if (glctl_is_help(argv[1])) {
        glctl_usage(stdout);
        return 0;
    }
    if (glctl_registry_has_group(argv[1])) {
        return glctl_registry_main(argv[1], argc - 2, argv + 2);
    }
    if (!glctl_group_known(argv[1])) {
        fprintf(stderr, "glctl: unknown group \"%s\"\n", argv[1]);
        glctl_usage(stderr);
        return 2;
    }
    if (argc < 3) {
        glctl_group_usage(stderr, argv[1]);
        return 2;
    }
    if (glctl_is_help(argv[2])) {
        glctl_group_usage(stdout, argv[1]);
        return 0;
    }
    for (size_t i = 0; i < GLCTL_NCMDS; i++) {
        if (strcmp(glctl_cmds[i].group, argv[1]) == 0 &&
            strcmp(glctl_cmds[i].command, argv[2]) == 0) {
            return glctl_cmds[i].run(argc - 2, argv + 2);
        }
    }
    fprintf(stderr, "glctl %s: unknown command \"%s\"\n", argv[1], argv[2]);
    glctl_group_usage(stderr, argv[1]);
    return 2;
}
