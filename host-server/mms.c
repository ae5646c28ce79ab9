/*
 * mms.c - MM7 SubmitReq over HTTP (libcurl), barcode PNG (libzint + libpng);
 * see mms.h for the contract.
 *
 * The body is built in one heap buffer: an outer multipart/related with the
 * SOAP envelope as its root (Content-ID <mm7-soap>) and the content as one
 * inner multipart/related (Content-ID <mms-content>, the SubmitReq's
 * Content href), whose root is a SMIL presentation.  Text travels as 8bit
 * UTF-8, images and sounds in base64 (RFC 2045 lines of 76).
 */
#include "mms.h"

#include <curl/curl.h>
#include <mbedtls/base64.h>
#include <png.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zint.h>

#include "gl_err.h"
#include "gl_log.h"

#define MOD "mms"
#define MM7_NS                                                                 \
    "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/"           \
    "REL-6-MM7-1-4"
#define MM7_VERSION "6.8.0"
#define MMS_RSP_MAX (64 * 1024)
#define MMS_ADDON_FILE_MAX (1024 * 1024)

/* ---- a growing buffer -------------------------------------------------- */

struct mbuf {
    char *p;
    size_t len, cap;
    int oom; /* an append failed: the buffer is incomplete */
};

static void mb_add(struct mbuf *b, const void *d, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void mb_str(struct mbuf *b, const char *s) { mb_add(b, s, strlen(s)); }

static void mb_printf(struct mbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mb_printf(struct mbuf *b, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        b->oom = 1; /* only short header lines are printed */
        return;
    }
    mb_add(b, tmp, (size_t)n);
}

/* XML character data: & < > " ' escaped. */
static void mb_xml(struct mbuf *b, const char *s)
{
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            mb_str(b, "&amp;");
            break;
        case '<':
            mb_str(b, "&lt;");
            break;
        case '>':
            mb_str(b, "&gt;");
            break;
        case '"':
            mb_str(b, "&quot;");
            break;
        case '\'':
            mb_str(b, "&apos;");
            break;
        default:
            mb_add(b, s, 1);
        }
    }
}

/* Base64 in lines of 76 characters, each ended by CRLF. */
static void mb_base64(struct mbuf *b, const unsigned char *d, size_t n)
{
    unsigned char line[80];
    for (size_t off = 0; off < n; off += 57) {
        size_t chunk = n - off < 57 ? n - off : 57, olen = 0;
        if (mbedtls_base64_encode(line, sizeof line, &olen, d + off, chunk) !=
            0) {
            b->oom = 1;
            return;
        }
        mb_add(b, line, olen);
        mb_str(b, "\r\n");
    }
}

/* ---- checks ------------------------------------------------------------ */

static const struct {
    const char *ext, *type;
} mms_types[] = {
    {"png", "image/png"},   {"jpg", "image/jpeg"},    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},   {"mid", "audio/midi"},    {"midi", "audio/midi"},
    {"amr", "audio/amr"},   {"mp3", "audio/mpeg"},    {"3gp", "video/3gpp"},
    {"txt", "text/plain"},
};

const char *mms_addon_type(const char *path)
{
    const char *dot = path != NULL ? strrchr(path, '.') : NULL;
    if (dot == NULL || strchr(dot, '/') != NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof mms_types / sizeof mms_types[0]; i++) {
        if (strcasecmp(dot + 1, mms_types[i].ext) == 0) {
            return mms_types[i].type;
        }
    }
    return NULL;
}

int mms_check(const char *subject, const char *barcode,
              const char *const *addons, int naddons)
{
    if (subject == NULL || strlen(subject) >= MMS_SUBJECT_MAX) {
        return GL_MMS_CONTENT;
    }
    for (const unsigned char *p = (const unsigned char *)subject; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return GL_MMS_CONTENT;
        }
    }
    if (barcode != NULL) {
        size_t n = strlen(barcode);
        if (n == 0 || n >= MMS_BARCODE_MAX) {
            return GL_MMS_CONTENT;
        }
        for (size_t i = 0; i < n; i++) {
            if (barcode[i] < 0x20 || barcode[i] > 0x7e) {
                return GL_MMS_CONTENT;
            }
        }
    }
    if (naddons < 0 || naddons > MMS_ADDONS_MAX ||
        (naddons > 0 && addons == NULL)) {
        return GL_MMS_CONTENT;
    }
    for (int i = 0; i < naddons; i++) {
        if (addons[i] == NULL || addons[i][0] == '\0' ||
            strlen(addons[i]) >= MMS_PATH_MAX || strchr(addons[i], '\n') ||
            mms_addon_type(addons[i]) == NULL) {
            return GL_MMS_CONTENT;
        }
    }
    return GL_OK;
}

/* ---- the barcode ------------------------------------------------------- */

struct png_out {
    struct mbuf b;
};

static void png_write_cb(png_structp png, png_bytep data, png_size_t n)
{
    struct png_out *o = png_get_io_ptr(png);
    mb_add(&o->b, data, n);
}

static void png_flush_cb(png_structp png) { (void)png; }

/* Encodes a zint RGB bitmap as 8-bit grayscale PNG into o.  libpng reports
 * errors by longjmp, so this function holds no resource of its own besides
 * the png structs, which the caller's cleanup cannot see: they are freed on
 * both paths here. */
static int png_encode(struct png_out *o, const unsigned char *rgb, int w,
                      int h)
{
    png_structp png = NULL;
    png_infop info = NULL;
    unsigned char *volatile row = NULL;
    volatile int rc = GL_MMS_BARCODE;

    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (png == NULL) {
        return GL_ENOMEM;
    }
    info = png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        return GL_ENOMEM;
    }
    if (setjmp(png_jmpbuf(png))) {
        goto out;
    }
    row = malloc((size_t)w);
    if (row == NULL) {
        rc = GL_ENOMEM;
        goto out;
    }
    png_set_write_fn(png, o, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        const unsigned char *src = rgb + (size_t)y * (size_t)w * 3;
        for (int x = 0; x < w; x++) {
            row[x] = src[(size_t)x * 3]; /* black or white: R says it */
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    rc = o->b.oom ? GL_ENOMEM : GL_OK;
out:
    free(row);
    png_destroy_write_struct(&png, &info);
    return rc;
}

int mms_barcode_png(const char *number, unsigned char **png, size_t *len)
{
    struct zint_symbol *sym = NULL;
    struct png_out o;
    int rc = GL_MMS_BARCODE;

    memset(&o, 0, sizeof o);
    *png = NULL;
    *len = 0;
    if (number == NULL || number[0] == '\0') {
        return GL_MMS_BARCODE;
    }
    sym = ZBarcode_Create();
    if (sym == NULL) {
        return GL_ENOMEM;
    }
    sym->symbology = BARCODE_CODE128;
    sym->scale = 2;           /* 4 pixels a module: sharp on any screen */
    sym->height = 40;         /* modules */
    sym->whitespace_width = 10; /* the quiet zones scanners need */
    sym->whitespace_height = 4;
    if (ZBarcode_Encode_and_Buffer(sym, (const unsigned char *)number,
                                   (int)strlen(number), 0) >= ZINT_ERROR ||
        sym->bitmap == NULL) {
        GL_LOG_WARN(MOD, "zint: %s", sym->errtxt);
        goto out;
    }
    rc = png_encode(&o, sym->bitmap, sym->bitmap_width, sym->bitmap_height);
    if (rc == GL_OK) {
        *png = (unsigned char *)o.b.p;
        *len = o.b.len;
        o.b.p = NULL;
    }
out:
    free(o.b.p);
    ZBarcode_Delete(sym);
    return rc;
}

/* ---- the body ---------------------------------------------------------- */

static int read_file(const char *path, size_t max, unsigned char **data,
                     size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct mbuf b = {0};
    char chunk[8192];
    size_t n;

    *data = NULL;
    *len = 0;
    if (f == NULL) {
        return GL_MMS_ADDON;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        mb_add(&b, chunk, n);
        if (b.len > max) {
            break;
        }
    }
    int bad = ferror(f) || b.len > max || b.len == 0;
    fclose(f);
    if (bad || b.oom) {
        free(b.p);
        return b.oom ? GL_ENOMEM : GL_MMS_ADDON;
    }
    *data = (unsigned char *)b.p;
    *len = b.len;
    return GL_OK;
}

/* The file name of path for Content-Location: its last component, with
 * anything but [A-Za-z0-9._-] replaced. */
static void location_of(char *out, size_t cap, const char *path)
{
    const char *base = strrchr(path, '/');
    size_t o = 0;
    base = base != NULL ? base + 1 : path;
    for (; *base != '\0' && o + 1 < cap; base++) {
        char ch = *base;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
                 ch == '_';
        out[o++] = ok ? ch : '_';
    }
    out[o] = '\0';
}

static void soap_envelope(struct mbuf *b, const struct mms_config *cfg,
                          const struct mms_message *m)
{
    mb_str(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
              "<env:Envelope xmlns:env="
              "\"http://schemas.xmlsoap.org/soap/envelope/\">"
              "<env:Header><mm7:TransactionID xmlns:mm7=\"" MM7_NS "\""
              " env:mustUnderstand=\"1\">");
    mb_xml(b, m->transaction_id);
    mb_str(b, "</mm7:TransactionID></env:Header><env:Body>"
              "<SubmitReq xmlns=\"" MM7_NS "\">"
              "<MM7Version>" MM7_VERSION "</MM7Version>");
    if (cfg->vasp_id || cfg->vas_id || cfg->sender) {
        mb_str(b, "<SenderIdentification>");
        if (cfg->vasp_id) {
            mb_str(b, "<VASPID>");
            mb_xml(b, cfg->vasp_id);
            mb_str(b, "</VASPID>");
        }
        if (cfg->vas_id) {
            mb_str(b, "<VASID>");
            mb_xml(b, cfg->vas_id);
            mb_str(b, "</VASID>");
        }
        if (cfg->sender) {
            mb_str(b, "<SenderAddress><ShortCode>");
            mb_xml(b, cfg->sender);
            mb_str(b, "</ShortCode></SenderAddress>");
        }
        mb_str(b, "</SenderIdentification>");
    }
    mb_str(b, "<Recipients><To><Number>");
    mb_xml(b, m->to);
    mb_str(b, "</Number></To></Recipients>");
    if (cfg->service_code) {
        mb_str(b, "<ServiceCode>");
        mb_xml(b, cfg->service_code);
        mb_str(b, "</ServiceCode>");
    }
    mb_str(b, "<MessageClass>Informational</MessageClass>"
              "<DeliveryReport>true</DeliveryReport>"
              "<Priority>Normal</Priority>");
    if (m->subject != NULL && m->subject[0] != '\0') {
        mb_str(b, "<Subject>");
        mb_xml(b, m->subject);
        mb_str(b, "</Subject>");
    }
    mb_str(b, "<Content href=\"cid:mms-content\" allowAdaptations=\"true\"/>"
              "</SubmitReq></env:Body></env:Envelope>\r\n");
}

static void smil(struct mbuf *b, const struct mms_message *m,
                 const char *const *types)
{
    mb_str(b, "<smil><head><layout>"
              "<root-layout width=\"320\" height=\"480\"/>"
              "<region id=\"Image\" top=\"0\" left=\"0\" height=\"50%\""
              " width=\"100%\" fit=\"meet\"/>"
              "<region id=\"Text\" top=\"50%\" left=\"0\" height=\"50%\""
              " width=\"100%\" fit=\"scroll\"/>"
              "</layout></head><body><par dur=\"10s\">");
    if (m->barcode != NULL) {
        mb_str(b, "<img src=\"cid:barcode\" region=\"Image\"/>");
    }
    mb_str(b, "<text src=\"cid:text\" region=\"Text\"/></par>");
    for (int i = 0; i < m->naddons; i++) {
        const char *t = types[i];
        const char *el = strncmp(t, "image/", 6) == 0   ? "img"
                         : strncmp(t, "audio/", 6) == 0 ? "audio"
                         : strncmp(t, "video/", 6) == 0 ? "video"
                                                         : "text";
        const char *region = strcmp(el, "img") == 0 || strcmp(el, "video") == 0
                                 ? " region=\"Image\""
                             : strcmp(el, "text") == 0 ? " region=\"Text\""
                                                       : "";
        mb_printf(b, "<par dur=\"10s\"><%s src=\"cid:addon%d\"%s/></par>", el,
                  i + 1, region);
    }
    mb_str(b, "</body></smil>\r\n");
}

int mms_build(const struct mms_config *cfg, const struct mms_message *m,
              char **body, size_t *len, char *ctype, size_t cap, char *why,
              size_t why_cap)
{
    static const char outer[] = "=_gl_mm7_outer_7b2f";
    static const char inner[] = "=_gl_mm7_content_41ce";
    struct mbuf b = {0};
    unsigned char *png = NULL, *data[MMS_ADDONS_MAX] = {0};
    size_t png_len = 0, data_len[MMS_ADDONS_MAX] = {0};
    char loc[MMS_ADDONS_MAX][MMS_PATH_MAX];
    const char *types[MMS_ADDONS_MAX];
    size_t max = cfg->max_bytes ? cfg->max_bytes : 300 * 1024;
    int rc;

    *body = NULL;
    *len = 0;
    why[0] = '\0';
    rc = mms_check(m->subject != NULL ? m->subject : "", m->barcode,
                   m->addons, m->naddons);
    if (rc != GL_OK || m->to == NULL || m->text == NULL ||
        m->transaction_id == NULL) {
        snprintf(why, why_cap, "invalid subject, barcode or add-on list");
        return GL_MMS_CONTENT;
    }
    /* The text travels as 8bit: it must not hold a boundary. */
    if (strstr(m->text, "=_gl_mm7_") != NULL) {
        snprintf(why, why_cap, "text holds the MIME boundary");
        return GL_MMS_CONTENT;
    }
    if (m->barcode != NULL) {
        rc = mms_barcode_png(m->barcode, &png, &png_len);
        if (rc != GL_OK) {
            snprintf(why, why_cap, "barcode: %s", gl_strerror(rc));
            goto out;
        }
    }
    for (int i = 0; i < m->naddons; i++) {
        types[i] = mms_addon_type(m->addons[i]);
        location_of(loc[i], sizeof loc[i], m->addons[i]);
        rc = read_file(m->addons[i], MMS_ADDON_FILE_MAX, &data[i],
                       &data_len[i]);
        if (rc != GL_OK) {
            snprintf(why, why_cap, "add-on %s: %s", loc[i],
                     rc == GL_MMS_ADDON ? "missing, empty or over 1 MiB"
                                        : gl_strerror(rc));
            goto out;
        }
    }

    /* the SOAP envelope, root of the outer multipart/related */
    mb_printf(&b,
              "--%s\r\nContent-Type: text/xml; charset=\"utf-8\"\r\n"
              "Content-ID: <mm7-soap>\r\n\r\n",
              outer);
    soap_envelope(&b, cfg, m);
    /* the content: one multipart/related part, SMIL its root */
    mb_printf(&b,
              "--%s\r\nContent-Type: multipart/related; boundary=\"%s\";"
              " type=\"application/smil\"; start=\"<smil>\"\r\n"
              "Content-ID: <mms-content>\r\n\r\n",
              outer, inner);
    mb_printf(&b,
              "--%s\r\nContent-Type: application/smil; charset=\"utf-8\"\r\n"
              "Content-ID: <smil>\r\nContent-Location: mms.smil\r\n\r\n",
              inner);
    smil(&b, m, types);
    mb_printf(&b,
              "--%s\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
              "Content-ID: <text>\r\nContent-Location: text.txt\r\n"
              "Content-Transfer-Encoding: 8bit\r\n\r\n",
              inner);
    mb_str(&b, m->text);
    mb_str(&b, "\r\n");
    if (png != NULL) {
        mb_printf(&b,
                  "--%s\r\nContent-Type: image/png\r\n"
                  "Content-ID: <barcode>\r\nContent-Location: barcode.png\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  inner);
        mb_base64(&b, png, png_len);
    }
    for (int i = 0; i < m->naddons; i++) {
        mb_printf(&b,
                  "--%s\r\nContent-Type: %s\r\nContent-ID: <addon%d>\r\n"
                  "Content-Location: %s\r\n"
                  "Content-Transfer-Encoding: base64\r\n\r\n",
                  inner, types[i], i + 1, loc[i]);
        mb_base64(&b, data[i], data_len[i]);
    }
    mb_printf(&b, "--%s--\r\n--%s--\r\n", inner, outer);
    if (b.oom) {
        rc = GL_ENOMEM;
        snprintf(why, why_cap, "out of memory");
        goto out;
    }
    if (b.len > max) {
        rc = GL_MMS_TOOBIG;
        snprintf(why, why_cap, "%zu bytes, the MMSC takes %zu", b.len, max);
        goto out;
    }
    snprintf(ctype, cap,
             "multipart/related; boundary=\"%s\"; type=\"text/xml\";"
             " start=\"<mm7-soap>\"",
             outer);
    *body = b.p;
    *len = b.len;
    b.p = NULL;
    rc = GL_OK;
out:
    free(b.p);
    free(png);
    for (int i = 0; i < MMS_ADDONS_MAX; i++) {
        free(data[i]);
    }
    return rc;
}

/* ---- the answer -------------------------------------------------------- */

/* The character data of the first element named tag (any namespace prefix)
 * in xml, into out.  1 if found. */
static int xml_text(const char *xml, const char *tag, char *out, size_t cap)
{
    size_t tn = strlen(tag);
    for (const char *p = strchr(xml, '<'); p != NULL; p = strchr(p + 1, '<')) {
        const char *name = p + 1, *end = name;
        if (*name == '/' || *name == '?' || *name == '!') {
            continue;
        }
        while (*end && *end != '>' && *end != ' ' && *end != '/' &&
               *end != '\t' && *end != '\r' && *end != '\n') {
            end++;
        }
        const char *colon = memchr(name, ':', (size_t)(end - name));
        const char *local = colon != NULL ? colon + 1 : name;
        if ((size_t)(end - local) != tn || strncmp(local, tag, tn) != 0) {
            continue;
        }
        const char *gt = strchr(end, '>');
        if (gt == NULL || gt[-1] == '/') {
            return 0;
        }
        const char *lt = strchr(gt + 1, '<');
        size_t n = lt != NULL ? (size_t)(lt - gt - 1) : strlen(gt + 1);
        /* trim surrounding whitespace */
        const char *s = gt + 1;
        while (n > 0 && (*s == ' ' || *s == '\r' || *s == '\n' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\r' ||
                         s[n - 1] == '\n' || s[n - 1] == '\t')) {
            n--;
        }
        snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
        return 1;
    }
    return 0;
}

int mms_parse_rsp(long http_status, const char *body, size_t len,
                  char *msg_id, char *why, size_t why_cap)
{
    char code[16] = "", text[160] = "", fault[160] = "";
    int has_code = 0;

    (void)len;
    msg_id[0] = '\0';
    if (body != NULL) {
        has_code = xml_text(body, "StatusCode", code, sizeof code);
        if (!xml_text(body, "StatusText", text, sizeof text)) {
            xml_text(body, "faultstring", fault, sizeof fault);
        }
    }
    if (http_status == 503 || http_status == 429) {
        snprintf(why, why_cap, "HTTP %ld, MM7 status %s %s", http_status,
                 has_code ? code : "-", text[0] ? text : fault);
        return GL_MMS_THROTTLED;
    }
    if (has_code) {
        int c = atoi(code);
        snprintf(why, why_cap, "MM7 status %d %s (HTTP %ld)", c,
                 text[0] ? text : fault, http_status);
        if (c >= 1000 && c < 2000) {
            if (!xml_text(body, "MessageID", msg_id, MMS_MSGID_MAX) ||
                msg_id[0] == '\0') {
                snprintf(why, why_cap, "SubmitRsp %d without a MessageID", c);
                return GL_MMS_PROTO;
            }
            return http_status == 200 ? GL_OK : GL_MMS_PROTO;
        }
        if (c == 3000 || c == 3001 || c == 4006) {
            return GL_MMS_TEMPFAIL;
        }
        if (c >= 2000 && c < 5000) {
            return GL_MMS_REJECTED;
        }
        return GL_MMS_TEMPFAIL; /* codes outside the spec: maybe later */
    }
    snprintf(why, why_cap, "HTTP %ld without an MM7 status %s", http_status,
             fault);
    if (http_status >= 500) {
        return GL_MMS_TEMPFAIL;
    }
    return GL_MMS_PROTO;
}

/* ---- the client -------------------------------------------------------- */

static size_t rsp_cb(char *d, size_t size, size_t n, void *ctx)
{
    struct mbuf *b = ctx;
    size_t total = size * n;
    if (b->len + total > MMS_RSP_MAX) {
        return 0; /* aborts the transfer: no answer is that long */
    }
    mb_add(b, d, total);
    return b->oom ? 0 : total;
}

const char *mms_client_errmsg(const struct mms_client *c) { return c->errmsg; }

int mms_client_init(struct mms_client *c, const struct mms_config *cfg)
{
    memset(c, 0, sizeof *c);
    if (cfg == NULL || cfg->url == NULL || cfg->url[0] == '\0') {
        snprintf(c->errmsg, sizeof c->errmsg, "no MMSC url");
        return GL_EINVAL;
    }
    c->cfg = *cfg;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(c->errmsg, sizeof c->errmsg, "curl_global_init failed");
        return GL_ENOMEM;
    }
    c->curl = curl_easy_init();
    if (c->curl == NULL) {
        curl_global_cleanup();
        snprintf(c->errmsg, sizeof c->errmsg, "curl_easy_init failed");
        return GL_ENOMEM;
    }
    return GL_OK;
}

void mms_client_deinit(struct mms_client *c)
{
    if (c->curl != NULL) {
        curl_easy_cleanup(c->curl);
        c->curl = NULL;
        curl_global_cleanup();
    }
}

static int curl_code(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return GL_ETIMEDOUT;
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
        return GL_ECLOSED;
    case CURLE_OUT_OF_MEMORY:
        return GL_ENOMEM;
    default:
        return GL_MMS_HTTP;
    }
}

int mms_submit(struct mms_client *c, const struct mms_message *m,
               char *msg_id)
{
    CURL *curl = c->curl;
    struct curl_slist *hdrs = NULL, *h;
    struct mbuf rsp = {0};
    char *body = NULL, ctype[160], hline[200], why[256];
    size_t len = 0;
    long status = 0;
    int rc;

    msg_id[0] = '\0';
    c->errmsg[0] = '\0';
    rc = mms_build(&c->cfg, m, &body, &len, ctype, sizeof ctype, why,
                   sizeof why);
    if (rc != GL_OK) {
        snprintf(c->errmsg, sizeof c->errmsg, "%s", why);
        goto out;
    }
    snprintf(hline, sizeof hline, "Content-Type: %s", ctype);
    const char *lines[] = {hline, "SOAPAction: \"\"", "Expect:"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        h = curl_slist_append(hdrs, lines[i]);
        if (h == NULL) {
            rc = GL_ENOMEM;
            goto out;
        }
        hdrs = h;
    }
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, c->cfg.url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "giftlink-mm7/1");
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)(c->cfg.connect_timeout_ms > 0
                                ? c->cfg.connect_timeout_ms
                                : 5000));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
                     (long)(c->cfg.timeout_ms > 0 ? c->cfg.timeout_ms
                                                  : 30000));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, rsp_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &rsp);
    if (c->cfg.user != NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(curl, CURLOPT_USERNAME, c->cfg.user);
        curl_easy_setopt(curl, CURLOPT_PASSWORD,
                         c->cfg.password != NULL ? c->cfg.password : "");
    }
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        rc = rsp.oom ? GL_ENOMEM : curl_code(cc);
        snprintf(c->errmsg, sizeof c->errmsg, "HTTP POST: %s",
                 curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    rc = mms_parse_rsp(status, rsp.p != NULL ? rsp.p : "", rsp.len, msg_id,
                       why, sizeof why);
    snprintf(c->errmsg, sizeof c->errmsg, "%s", why);
out:
    /* the handle must not keep pointers into the freed header list */
    if (curl != NULL) {
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
    }
    curl_slist_free_all(hdrs);
    free(rsp.p);
    free(body);
    return rc;
}
