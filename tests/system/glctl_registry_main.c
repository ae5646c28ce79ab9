/*
 * glctl_registry_main.c - a test-only front for glctl_registry_main, used by
 * tests/system/glctl_registry.sh while glctl's own main does not dispatch
 * the registry groups: `prog <group> <command> [options]`.
 */
#include "glctl_registry.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        return 2;
    }
    return glctl_registry_main(argv[1], argc - 2, argv + 2);
}
