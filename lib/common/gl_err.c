/*
 * gl_err.c - text for the codes of gl_err.h.
 */
#include "gl_err.h"

const char *gl_strerror(int err)
{
    switch (err) {
#define GL_ERR_TEXT_(name, code, text) \
    case (code):                       \
        return (text);
        GL_ERR_LIST(GL_ERR_TEXT_)
#undef GL_ERR_TEXT_
    default:
        return "unknown error";
    }
}

const char *gl_errname(int err)
{
    switch (err) {
#define GL_ERR_NAME_(name, code, text) \
    case (code):                       \
        return #name;
        GL_ERR_LIST(GL_ERR_NAME_)
#undef GL_ERR_NAME_
    default:
        return "UNKNOWN";
    }
}
