/*
 * glctl_ikey.h - `glctl pki ikey` and `glctl pki bdk`: the DUKPT key
 * material of the deployment (initial keys of terminals, base derivation
 * keys).
 *
 * Both take argv[0] = the command name ("ikey", "bdk") followed by its
 * options, and return the process exit status (0 done, 1 failed, 2 usage).
 */
#ifndef GLCTL_IKEY_H
#define GLCTL_IKEY_H

int glctl_pki_ikey(int argc, char **argv);
int glctl_pki_bdk(int argc, char **argv);

#endif /* GLCTL_IKEY_H */
