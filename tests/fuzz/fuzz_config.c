/*
 * fuzz_config.c - libFuzzer harness for the INI configuration loader.
 * Any text: a clean result or an error message, never a crash, and a string
 * value always terminated within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gl_config.h"
#include "gl_err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[8192];
    char host[16], err[GL_CFG_ERR_MAX];
    long long port = 0, floor_limit = 0;
    int offline = 0;
    const struct gl_cfg_item items[] = {
        {"host", "address", GL_CFG_STR, host, sizeof host, 0, 0, 1},
        {"host", "port", GL_CFG_INT, &port, 0, 1, 65535, 0},
        {"offline", "enabled", GL_CFG_BOOL, &offline, 0, 0, 0, 0},
        {"offline", "floor_limit", GL_CFG_INT, &floor_limit, 0, 0, 1000000, 0},
    };

    if (size >= sizeof text) {
        return 0;
    }
    memcpy(text, data, size);
    text[size] = '\0';
    memset(host, 'x', sizeof host);
    int rc = gl_config_parse_string(text, "fuzz.ini", items, 4, err);
    if (rc == GL_OK) {
        if (memchr(host, '\0', sizeof host) == NULL || port < 0 ||
            port > 65535) {
            abort();
        }
    } else if (rc != GL_ECONFIG || err[0] == '\0') {
        abort();
    }
    return 0;
}
