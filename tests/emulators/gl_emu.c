/*
 * gl_emu.c - `gl-emu`: the device emulators as a program, for trying the
 * terminal by hand and for system tests.
 *
 *   gl-emu scanner|magstripe|irda|printer|pn532 [--link PATH]
 *          [--control SOCKET]
 *
 * Makes the pseudo-terminal, prints "<device> ready <path> ..." (the path
 * to configure in the terminal), then serves until killed or "quit": one
 * control line at a time from stdin, and from clients of the Unix stream
 * socket SOCKET (`socat - UNIX-CONNECT:SOCKET`).  The commands are in
 * tests/emulators/serial_emu.h and pn532_emu.h.
 */
#include <stdio.h>
#include <string.h>

#include "pn532_emu.h"
#include "serial_emu.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: gl-emu scanner|magstripe|irda|printer|pn532 "
                        "[--link PATH] [--control SOCKET]\n");
        return 2;
    }
    if (strcmp(argv[1], "pn532") == 0) {
        return emu_pn532_main(argc - 1, argv + 1);
    }
    return semu_main(argc - 1, argv + 1);
}
