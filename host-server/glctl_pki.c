/*
 * glctl_pki.c - the deployment CA, host and terminal certificates
 * (contract: glctl_pki.h).
 *
 * Everything is generated with mbedTLS (mbedtls_ecp_gen_key,
 * mbedtls_x509write_crt) so the host needs no other toolkit; the system
 * test checks the result with OpenSSL as an independent verifier.
 */
#include "glctl_pki.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "gl_err.h"

#define PKI_DEFAULT_CA_CN "giftlink deployment CA"
#define PKI_ORG "giftlink"
#define PKI_TERMID_MAX 32
#define PKI_CN_MAX 64
#define PKI_PEM_MAX 4096

/* DER of extendedKeyUsage values: SEQUENCE { id-kp-serverAuth } etc. */
static const unsigned char pki_eku_server[] = {
    0x30, 0x0A, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01};
static const unsigned char pki_eku_client[] = {
    0x30, 0x0A, 0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02};

static void pki_errf(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void pki_errf(char *err, const char *fmt, ...)
{
    va_list ap;
    if (err == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(err, GLCTL_PKI_ERR_MAX, fmt, ap);
    va_end(ap);
}

static void pki_tls_errf(char *err, const char *what, int ret)
{
    char t[160];
    mbedtls_strerror(ret, t, sizeof t);
    pki_errf(err, "%s: %s (-0x%04X)", what, t, (unsigned)-ret);
}

/* A terminal id: [A-Za-z0-9_-]{1,32} (it becomes a file name too). */
static int pki_termid_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > PKI_TERMID_MAX) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* A CA or host CN: [A-Za-z0-9 ._-]{1,64}, not starting or ending in ' '
 * (nothing that needs escaping in a distinguished name). */
static int pki_cn_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > PKI_CN_MAX || s[0] == ' ' || s[n - 1] == ' ') {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
              c == ' ')) {
            return 0;
        }
    }
    return 1;
}

/* "YYYYMMDDhhmmss" with plausible fields. */
static int pki_time_ok(const char *s)
{
    int v[6];
    if (s == NULL || strlen(s) != 14) {
        return 0;
    }
    for (int i = 0; i < 14; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    if (sscanf(s, "%4d%2d%2d%2d%2d%2d", &v[0], &v[1], &v[2], &v[3], &v[4],
               &v[5]) != 6) {
        return 0;
    }
    return v[0] >= 1950 && v[0] <= 9999 && v[1] >= 1 && v[1] <= 12 &&
           v[2] >= 1 && v[2] <= 31 && v[3] <= 23 && v[4] <= 59 && v[5] <= 59;
}

static void pki_time_fmt(char out[15], time_t t)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

int glctl_pki_paths(const struct glctl_pki_req *req, char *crt, char *key)
{
    const char *base;
    char name[PKI_TERMID_MAX + 8];
    int n1, n2;

    if (req == NULL || req->dir == NULL || req->dir[0] == '\0') {
        return GL_EINVAL;
    }
    switch (req->kind) {
    case GLCTL_PKI_CA:
        base = "ca";
        break;
    case GLCTL_PKI_HOST:
        base = "host";
        break;
    case GLCTL_PKI_TERMINAL:
        if (!pki_termid_ok(req->cn)) {
            return GL_EINVAL;
        }
        snprintf(name, sizeof name, "term-%s", req->cn);
        base = name;
        break;
    default:
        return GL_EINVAL;
    }
    n1 = snprintf(crt, GLCTL_PKI_PATH_MAX, "%s/%s.crt", req->dir, base);
    n2 = snprintf(key, GLCTL_PKI_PATH_MAX, "%s/%s.key", req->dir, base);
    if (n1 < 0 || n1 >= GLCTL_PKI_PATH_MAX || n2 < 0 ||
        n2 >= GLCTL_PKI_PATH_MAX) {
        return GL_ENOSPC;
    }
    return GL_OK;
}

/* Creates path with mode (O_EXCL: never through a wider mode) and writes
 * len bytes.  With force an existing file is removed first. */
static int pki_write_file(const char *path, const unsigned char *data,
                          size_t len, mode_t mode, int force, char *err)
{
    int fd;
    size_t off = 0;
    int rc = GL_OK;

    if (force && unlink(path) != 0 && errno != ENOENT) {
        pki_errf(err, "%s: cannot remove: %s", path, strerror(errno));
        return GL_EIO;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        int e = errno;
        pki_errf(err, "%s: %s", path, strerror(e));
        return e == EEXIST ? GL_EEXIST : GL_EIO;
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            pki_errf(err, "%s: %s", path, strerror(errno));
            rc = GL_EIO;
            goto out;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        pki_errf(err, "%s: %s", path, strerror(errno));
        rc = GL_EIO;
    }
out:
    close(fd);
    if (rc != GL_OK) {
        unlink(path);
    }
    return rc;
}

static int pki_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int glctl_pki_issue(const struct glctl_pki_req *req, char *err)
{
    static const unsigned char pers[] = "giftlink-glctl-pki";
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key, ca_key;
    mbedtls_x509_crt ca_crt;
    mbedtls_x509write_cert wr;
    mbedtls_mpi serial;
    char *crt_path = NULL, *key_path = NULL, *ca_path = NULL,
         *cakey_path = NULL;
    unsigned char *pem = NULL, *key_pem = NULL;
    char subject[160], issuer[256], nb[15], na[15];
    const char *cn;
    int days, ret, rc = GL_OK, key_written = 0;

    if (err != NULL) {
        err[0] = '\0';
    }
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&key);
    mbedtls_pk_init(&ca_key);
    mbedtls_x509_crt_init(&ca_crt);
    mbedtls_x509write_crt_init(&wr);
    mbedtls_mpi_init(&serial);

    crt_path = malloc(GLCTL_PKI_PATH_MAX);
    key_path = malloc(GLCTL_PKI_PATH_MAX);
    ca_path = malloc(GLCTL_PKI_PATH_MAX);
    cakey_path = malloc(GLCTL_PKI_PATH_MAX);
    pem = malloc(PKI_PEM_MAX);
    key_pem = calloc(1, PKI_PEM_MAX);
    if (!crt_path || !key_path || !ca_path || !cakey_path || !pem || !key_pem) {
        pki_errf(err, "out of memory");
        rc = GL_ENOMEM;
        goto out;
    }

    /* ---- check the request ---- */
    if (req == NULL || req->dir == NULL || req->dir[0] == '\0') {
        pki_errf(err, "no directory given");
        rc = GL_EINVAL;
        goto out;
    }
    cn = req->cn;
    if (req->kind == GLCTL_PKI_CA && cn == NULL) {
        cn = PKI_DEFAULT_CA_CN;
    }
    if (req->kind == GLCTL_PKI_TERMINAL ? !pki_termid_ok(cn) : !pki_cn_ok(cn)) {
        pki_errf(err,
                 req->kind == GLCTL_PKI_TERMINAL
                     ? "bad terminal id \"%s\": 1 to 32 of A-Z a-z 0-9 _ -"
                     : "bad CN \"%s\": 1 to 64 of A-Z a-z 0-9 space . _ -",
                 cn != NULL ? cn : "");
        rc = GL_EINVAL;
        goto out;
    }
    if ((req->not_before == NULL) != (req->not_after == NULL)) {
        pki_errf(err, "give both not-before and not-after, or neither");
        rc = GL_EINVAL;
        goto out;
    }
    if (req->not_before != NULL) {
        if (!pki_time_ok(req->not_before) || !pki_time_ok(req->not_after) ||
            strcmp(req->not_before, req->not_after) >= 0) {
            pki_errf(err, "bad validity: YYYYMMDDhhmmss (UTC), not-before < "
                          "not-after");
            rc = GL_EINVAL;
            goto out;
        }
        snprintf(nb, sizeof nb, "%s", req->not_before);
        snprintf(na, sizeof na, "%s", req->not_after);
    } else {
        time_t now = time(NULL);
        days = req->days != 0
                   ? req->days
                   : (req->kind == GLCTL_PKI_CA ? GLCTL_PKI_CA_DAYS
                                                : GLCTL_PKI_LEAF_DAYS);
        if (days < 1 || days > 36500) {
            pki_errf(err, "bad --days %d: 1 to 36500", days);
            rc = GL_EINVAL;
            goto out;
        }
        /* An hour back, for terminals whose clock runs a little late. */
        pki_time_fmt(nb, now - 3600);
        pki_time_fmt(na, now + (time_t)days * 86400);
    }
    {
        struct glctl_pki_req r = *req;
        r.cn = cn;
        rc = glctl_pki_paths(&r, crt_path, key_path);
        if (rc == GL_OK) {
            r.kind = GLCTL_PKI_CA;
            rc = glctl_pki_paths(&r, ca_path, cakey_path);
        }
        if (rc != GL_OK) {
            pki_errf(err, "directory name too long");
            goto out;
        }
    }
    if (mkdir(req->dir, 0700) != 0 && errno != EEXIST) {
        pki_errf(err, "%s: %s", req->dir, strerror(errno));
        rc = GL_EIO;
        goto out;
    }
    if (!req->force && (pki_exists(crt_path) || pki_exists(key_path))) {
        pki_errf(err, "%s exists: refusing to overwrite (use --force)",
                 pki_exists(key_path) ? key_path : crt_path);
        rc = GL_EEXIST;
        goto out;
    }

    /* ---- the issuer ---- */
    if (req->kind != GLCTL_PKI_CA) {
        ret = mbedtls_x509_crt_parse_file(&ca_crt, ca_path);
        if (ret != 0) {
            pki_tls_errf(err, ca_path, ret);
            rc = GL_ECONFIG;
            goto out;
        }
        ret = mbedtls_pk_parse_keyfile(&ca_key, cakey_path, NULL);
        if (ret != 0) {
            pki_tls_errf(err, cakey_path, ret);
            rc = GL_ECONFIG;
            goto out;
        }
        if (mbedtls_pk_check_pair(&ca_crt.pk, &ca_key) != 0) {
            pki_errf(err, "%s does not match %s", cakey_path, ca_path);
            rc = GL_ECONFIG;
            goto out;
        }
        if (mbedtls_x509_dn_gets(issuer, sizeof issuer, &ca_crt.subject) < 0) {
            pki_errf(err, "%s: subject too long", ca_path);
            rc = GL_ECONFIG;
            goto out;
        }
    }

    /* ---- the new key ---- */
    ret = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, pers,
                                sizeof pers - 1);
    if (ret == 0) {
        ret =
            mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    }
    if (ret == 0) {
        ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
                                  mbedtls_ctr_drbg_random, &drbg);
    }
    if (ret != 0) {
        pki_tls_errf(err, "key generation", ret);
        rc = GL_CRYPTO;
        goto out;
    }

    /* ---- the certificate ---- */
    snprintf(subject, sizeof subject, "CN=%s,O=%s", cn, PKI_ORG);
    if (req->kind == GLCTL_PKI_CA) {
        snprintf(issuer, sizeof issuer, "%s", subject);
    }
    mbedtls_x509write_crt_set_version(&wr, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&wr, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&wr, &key);
    mbedtls_x509write_crt_set_issuer_key(
        &wr, req->kind == GLCTL_PKI_CA ? &key : &ca_key);
    /* A random positive 127-bit serial (RFC 5280: unique, at most 20 bytes). */
    ret = mbedtls_mpi_fill_random(&serial, 16, mbedtls_ctr_drbg_random, &drbg);
    if (ret == 0) {
        ret = mbedtls_mpi_set_bit(&serial, 127, 0);
    }
    if (ret == 0) {
        ret = mbedtls_mpi_set_bit(&serial, 126, 1);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_serial(&wr, &serial);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_subject_name(&wr, subject);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_issuer_name(&wr, issuer);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_validity(&wr, nb, na);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_basic_constraints(
            &wr, req->kind == GLCTL_PKI_CA, req->kind == GLCTL_PKI_CA ? 0 : -1);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_key_usage(
            &wr, req->kind == GLCTL_PKI_CA
                     ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                     : MBEDTLS_X509_KU_DIGITAL_SIGNATURE);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_subject_key_identifier(&wr);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_set_authority_key_identifier(&wr);
    }
    if (ret == 0 && req->kind == GLCTL_PKI_HOST) {
        /* subjectAltName: SEQUENCE { [2] dNSName cn } (cn <= 64 bytes). */
        unsigned char san[4 + PKI_CN_MAX];
        size_t n = strlen(cn);
        san[0] = 0x30;
        san[1] = (unsigned char)(n + 2);
        san[2] = 0x82;
        san[3] = (unsigned char)n;
        memcpy(san + 4, cn, n);
        ret = mbedtls_x509write_crt_set_extension(
            &wr, MBEDTLS_OID_SUBJECT_ALT_NAME,
            MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san, n + 4);
    }
    if (ret == 0 && req->kind != GLCTL_PKI_CA) {
        const unsigned char *eku =
            req->kind == GLCTL_PKI_HOST ? pki_eku_server : pki_eku_client;
        ret = mbedtls_x509write_crt_set_extension(
            &wr, MBEDTLS_OID_EXTENDED_KEY_USAGE,
            MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0, eku,
            sizeof pki_eku_server);
    }
    if (ret == 0) {
        ret = mbedtls_x509write_crt_pem(&wr, pem, PKI_PEM_MAX,
                                        mbedtls_ctr_drbg_random, &drbg);
    }
    if (ret != 0) {
        pki_tls_errf(err, "certificate", ret);
        rc = GL_CRYPTO;
        goto out;
    }
    ret = mbedtls_pk_write_key_pem(&key, key_pem, PKI_PEM_MAX);
    if (ret != 0) {
        pki_tls_errf(err, "key encoding", ret);
        rc = GL_CRYPTO;
        goto out;
    }

    /* ---- the files: the key first, and never one without the other ---- */
    rc = pki_write_file(key_path, key_pem, strlen((char *)key_pem), 0600,
                        req->force, err);
    if (rc != GL_OK) {
        goto out;
    }
    key_written = 1;
    rc = pki_write_file(crt_path, pem, strlen((char *)pem), 0644, req->force,
                        err);

out:
    if (rc != GL_OK && key_written) {
        unlink(key_path);
    }
    if (key_pem != NULL) {
        mbedtls_platform_zeroize(key_pem, PKI_PEM_MAX);
    }
    free(key_pem);
    free(pem);
    free(cakey_path);
    free(ca_path);
    free(key_path);
    free(crt_path);
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&wr);
    mbedtls_x509_crt_free(&ca_crt);
    mbedtls_pk_free(&ca_key);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return rc;
}

/* ---- the command line ---------------------------------------------------- */

static const char pki_usage_ca[] =
    "usage: glctl pki ca --dir DIR [--cn NAME] [--days N] [--force]\n"
    "  Creates the deployment CA: DIR/ca.crt and DIR/ca.key (mode 0600).\n"
    "  --cn NAME   the CA's common name (default \"" PKI_DEFAULT_CA_CN "\")\n"
    "  --days N    validity in days (default 3650)\n"
    "  --force     replace existing files\n";

static const char pki_usage_host[] =
    "usage: glctl pki host --dir DIR --cn NAME [--days N] [--force]\n"
    "  Creates the host's key and certificate signed by DIR/ca.*:\n"
    "  DIR/host.crt and DIR/host.key (mode 0600).\n"
    "  --cn NAME   the host name terminals expect (their server CN)\n"
    "  --days N    validity in days (default 825)\n"
    "  --force     replace existing files\n";

static const char pki_usage_terminal[] =
    "usage: glctl pki terminal --dir DIR --id TERMINALID [--days N]\n"
    "                          [--not-before YYYYMMDDhhmmss --not-after "
    "YYYYMMDDhhmmss] [--force]\n"
    "  Creates a terminal's key and certificate (CN = TERMINALID) signed by\n"
    "  DIR/ca.*: DIR/term-TERMINALID.crt and .key (mode 0600).\n"
    "  --id ID         terminal id, 1 to 32 of A-Z a-z 0-9 _ -\n"
    "  --days N        validity in days (default 825)\n"
    "  --not-before T  --not-after T   explicit validity, UTC\n"
    "  --force         replace existing files\n";

/* Shared option parser of the three commands; returns -1 to go on, else
 * the exit status. */
static int pki_cmd_parse(int argc, char **argv, enum glctl_pki_kind kind,
                         const char *usage, struct glctl_pki_req *req)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"cn", required_argument, NULL, 'c'},
        {"id", required_argument, NULL, 'i'},
        {"days", required_argument, NULL, 'n'},
        {"not-before", required_argument, NULL, 'b'},
        {"not-after", required_argument, NULL, 'a'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(req, 0, sizeof *req);
    req->kind = kind;
    optind = 0; /* glibc: full re-initialisation for a second parse */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            req->dir = optarg;
            break;
        case 'c':
            if (kind == GLCTL_PKI_TERMINAL) {
                goto bad;
            }
            req->cn = optarg;
            break;
        case 'i':
            if (kind != GLCTL_PKI_TERMINAL) {
                goto bad;
            }
            req->cn = optarg;
            break;
        case 'n': {
            char *end;
            long v;
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 1 ||
                v > 36500) {
                fprintf(stderr, "glctl pki %s: bad --days \"%s\": 1 to 36500\n",
                        argv[0], optarg);
                return 2;
            }
            req->days = (int)v;
            break;
        }
        case 'b':
        case 'a':
            if (kind != GLCTL_PKI_TERMINAL) {
                goto bad;
            }
            if (c == 'b') {
                req->not_before = optarg;
            } else {
                req->not_after = optarg;
            }
            break;
        case 'f':
            req->force = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "glctl pki %s: unexpected argument \"%s\"\n", argv[0],
                argv[optind]);
        fputs(usage, stderr);
        return 2;
    }
    if (req->dir == NULL) {
        fprintf(stderr, "glctl pki %s: --dir is required\n", argv[0]);
        fputs(usage, stderr);
        return 2;
    }
    if (kind != GLCTL_PKI_CA && req->cn == NULL) {
        fprintf(stderr, "glctl pki %s: %s is required\n", argv[0],
                kind == GLCTL_PKI_TERMINAL ? "--id" : "--cn");
        fputs(usage, stderr);
        return 2;
    }
    return -1;
bad:
    fprintf(stderr, "glctl pki %s: unknown or misplaced option \"%s\"\n",
            argv[0], argv[optind - 1]);
    fputs(usage, stderr);
    return 2;
}

static int pki_cmd_run(int argc, char **argv, enum glctl_pki_kind kind,
                       const char *usage)
{
    struct glctl_pki_req req;
    char err[GLCTL_PKI_ERR_MAX];
    char crt[GLCTL_PKI_PATH_MAX], key[GLCTL_PKI_PATH_MAX];
    int rc = pki_cmd_parse(argc, argv, kind, usage, &req);

    if (rc >= 0) {
        return rc;
    }
    rc = glctl_pki_issue(&req, err);
    if (rc != GL_OK) {
        fprintf(stderr, "glctl pki %s: %s\n", argv[0], err);
        return rc == GL_EINVAL ? 2 : 1;
    }
    if (req.kind == GLCTL_PKI_CA && req.cn == NULL) {
        req.cn = PKI_DEFAULT_CA_CN;
    }
    if (glctl_pki_paths(&req, crt, key) == GL_OK) {
        printf("created %s and %s\n", crt, key);
    }
    return 0;
}

int glctl_pki_cmd_ca(int argc, char **argv)
{
    return pki_cmd_run(argc, argv, GLCTL_PKI_CA, pki_usage_ca);
}

int glctl_pki_cmd_host(int argc, char **argv)
{
    return pki_cmd_run(argc, argv, GLCTL_PKI_HOST, pki_usage_host);
}

int glctl_pki_cmd_terminal(int argc, char **argv)
{
    return pki_cmd_run(argc, argv, GLCTL_PKI_TERMINAL, pki_usage_terminal);
}
