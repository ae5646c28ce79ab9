/*
 * glctl_registry.h - glctl's groups for the catalogue and the ledger:
 * merchant, store, terminal, product, member, voucher, ledger.
 *
 * Contract:
 *  - glctl_registry_main(group, argc, argv): argv[0] is the command name
 *    ("add", "list", "issue", "check"...), its options follow.  argc == 0,
 *    or argv[0] "--help", prints the group's commands.  Every command takes
 *    --help, --json (machine-readable output on stdout) and --db PATH (else
 *    $GL_DB, else ./giftlink.db); voucher issue with PINs takes
 *    --pin-key FILE (else $GL_PIN_KEY_FILE): the host's PIN hashing key,
 *    16..64 bytes.
 *  - Exit status: 0 done, 1 the operation failed (or `ledger check` found
 *    something: the report is printed), 2 usage error.
 *  - Results go to stdout, errors to stderr.  Voucher numbers are printed
 *    whole only by `voucher issue` (the operator delivers them); listings
 *    mask them.
 */
#ifndef GLCTL_REGISTRY_H
#define GLCTL_REGISTRY_H

/* The groups handled here and their commands, for glctl's help. */
struct glctl_registry_cmd {
    const char *group;
    const char *command;
    const char *help;
};
extern const struct glctl_registry_cmd glctl_registry_cmds[];
extern const unsigned glctl_registry_ncmds;

/* 1 when group is one of this module's groups. */
int glctl_registry_has_group(const char *group);

/* Runs `glctl <group> <argv...>` and returns the exit status. */
int glctl_registry_main(const char *group, int argc, char **argv);

#endif /* GLCTL_REGISTRY_H */
