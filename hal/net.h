/*
 * net.h - TCP + TLS 1.2 for the host link, non-blocking, for an event loop.
 *
 * Contract:
 *  - Every TLS call of the project lives in net.c (mbedTLS 2.28 is past its
 *    end of life: one module to port).  Callers see only this header.
 *  - TLS 1.2 only (minimum and maximum set explicitly), ECDHE with AES-GCM
 *    cipher suites only, a certificate required on both sides and checked
 *    against the deployment CA; a client also checks the host's CN.
 *  - Nothing here blocks except net_ctx_new (reads files) and the name
 *    resolution of net_connect / net_listen (give numeric addresses to a
 *    process that must never block).  Every connection step returns
 *    GL_EAGAIN when the socket is not ready; net_conn_want() then says
 *    whether to wait for readability, writability or either.  Timeouts are
 *    the caller's: the event loop owns the clock.
 *  - A handshake failure is reported once, as a distinct code of gl_err.h,
 *    on the side that detects it:
 *        GL_TLS_NOCERT    the peer sent no certificate
 *        GL_TLS_BADCA     the peer's certificate is not from our CA
 *        GL_TLS_EXPIRED   the peer's certificate has expired
 *        GL_TLS_NOTYET    the peer's certificate is not valid yet
 *        GL_TLS_CN        (client) the host certificate's CN is not the
 *                         configured one
 *        GL_TLS_CERT      the peer's certificate is rejected otherwise
 *        GL_TLS_VERSION   no common protocol version (peer offers < 1.2)
 *        GL_TLS_CIPHER    no cipher suite in common (or none that our
 *                         own certificate may serve: a server given a
 *                         certificate without serverAuth)
 *        GL_TLS_REFUSED   the peer aborted the handshake with a fatal alert
 *                         (it refused our certificate: see the error text)
 *        GL_TLS_HANDSHAKE any other handshake failure
 *        GL_NET_CONNECT   the TCP connection could not be made
 *        GL_ECLOSED       the peer closed or reset the connection
 *    mbedTLS's own text for the failure is kept in the handle
 *    (net_conn_errstr) for logs.
 *  - Session resumption: a server context issues session tickets (keys
 *    generated in memory and rotated by mbedTLS); a client context keeps the
 *    session of its last complete handshake and offers it on the next
 *    net_connect, so a terminal's reconnect skips the full handshake.
 *  - Threads: a context and its connections belong to one thread (one event
 *    loop).  A host running one loop per core makes one server context per
 *    loop; a terminal resuming on another loop then does one full handshake.
 *  - Memory: contexts, listeners and connections are allocated here and
 *    freed by their _free/_close; mbedTLS allocates its record buffers
 *    (about 2 x 16 KiB per connection) when a connection is created.
 */
#ifndef GL_NET_H
#define GL_NET_H

#include <stddef.h>

struct net_ctx;
struct net_listener;
struct net_conn;

enum net_role {
    NET_ROLE_SERVER = 0,
    NET_ROLE_CLIENT = 1,
};

/* What a GL_EAGAIN waits for: a bit mask for the event loop. */
enum net_want {
    NET_WANT_READ = 1,
    NET_WANT_WRITE = 2,
};

/* Room for the CN of a peer (terminal ids, host names) and its NUL. */
#define NET_CN_MAX 65
/* Room for the error text of a handle. */
#define NET_ERR_MAX 256
/* Largest TLS session id. */
#define NET_SESSION_ID_MAX 32

/* The TLS configuration of one side.  Strings are read by net_ctx_new only. */
struct net_tls_config {
    const char *ca_file;   /* PEM: the deployment CA (required) */
    const char *cert_file; /* PEM: own certificate (required on a server;
                              NULL on a client sends no certificate, which a
                              server refuses: for tests) */
    const char *key_file;  /* PEM: own private key (with cert_file) */
    const char *server_cn; /* client: the CN the host certificate must carry
                              (required); server: ignored */
};

/*
 * Creates a TLS context for role: loads the CA, own certificate and key
 * (mbedtls_pk_parse_keyfile), seeds one CTR-DRBG from the system entropy,
 * and (server) sets up the session ticket keys.
 * On success *out owns the context (net_ctx_free).  On failure *out is
 * NULL and err (errlen bytes, may be NULL) says which file or step failed.
 * Returns GL_OK, GL_EINVAL (missing file names), GL_ECONFIG (a file that
 * cannot be read or parsed, a key that does not match its certificate),
 * GL_ENOMEM or GL_CRYPTO.
 */
int net_ctx_new(struct net_ctx **out, enum net_role role,
                const struct net_tls_config *cfg, char *err, size_t errlen);

/* Frees a context; NULL is allowed.  Its connections must be closed first. */
void net_ctx_free(struct net_ctx *ctx);

/*
 * Client: forgets the kept session, so the next net_connect does a full
 * handshake (after a key change on the host, and for benchmarks).
 */
void net_ctx_session_clear(struct net_ctx *ctx);

/*
 * Binds and listens on host:port (host NULL or "" = all IPv4 addresses,
 * "::" for IPv6; port "0" picks a free port, see net_listener_port), with a
 * non-blocking socket.  Returns GL_OK with *out owned by the caller
 * (net_listener_close), GL_NET_RESOLVE, GL_EOS (socket/bind/listen failed;
 * errno is kept) or GL_ENOMEM.
 */
int net_listen(struct net_listener **out, const char *host, const char *port,
               int backlog);
/* The listening socket, for the event loop (readable = a peer waits). */
int net_listener_fd(const struct net_listener *l);
/* The bound port number. */
int net_listener_port(const struct net_listener *l);
/* Closes the socket and frees l; NULL is allowed. */
void net_listener_close(struct net_listener *l);

/*
 * Accepts one waiting TCP connection and starts its TLS server side under
 * ctx (a NET_ROLE_SERVER context that must outlive the connection).
 * Returns GL_OK with *out owned by the caller (net_conn_close): drive it
 * with net_conn_handshake.  GL_EAGAIN when nobody waits, GL_EOS (for
 * example EMFILE), GL_ENOMEM, GL_TLS.
 */
int net_accept(struct net_listener *l, struct net_ctx *ctx,
               struct net_conn **out);

/*
 * The two halves of net_accept, for a server whose threads each have their
 * own ctx (an mbedTLS context is used by one thread): net_accept_fd takes
 * one waiting TCP connection as a non-blocking fd (GL_OK, GL_EAGAIN when
 * nobody waits, GL_EOS), and net_conn_adopt starts the TLS server side of
 * fd under ctx, taking fd in every case (closed on failure).  Returns as
 * net_accept.
 */
int net_accept_fd(struct net_listener *l, int *fd);
int net_conn_adopt(struct net_ctx *ctx, int fd, struct net_conn **out);

/*
 * Starts a non-blocking TCP connect to host:port under ctx (a
 * NET_ROLE_CLIENT context that must outlive the connection) and prepares
 * the TLS client side, offering ctx's kept session if it has one.
 * Returns GL_OK with *out owned by the caller (net_conn_close); the
 * connection completes in net_conn_handshake.  GL_NET_RESOLVE,
 * GL_NET_CONNECT (refused at once), GL_EOS, GL_ENOMEM, GL_TLS.
 */
int net_connect(struct net_ctx *ctx, const char *host, const char *port,
                struct net_conn **out);

/*
 * Drives the connection as far as the socket allows: first the completion
 * of a client's TCP connect, then the TLS handshake.
 * Returns GL_OK when the handshake is complete (again GL_OK on later
 * calls), GL_EAGAIN (see net_conn_want), or a failure listed at the top of
 * this file.  After a failure only net_conn_errstr and net_conn_close may
 * be used.  A client context keeps the new session on success.
 */
int net_conn_handshake(struct net_conn *c);

/*
 * Reads up to len decrypted bytes into buf.  Returns the number read (> 0),
 * GL_EAGAIN, GL_ECLOSED (the peer closed, orderly or not), GL_EINVAL
 * (handshake not complete) or GL_TLS (a bad record: close the connection).
 * mbedTLS may hold decrypted bytes that the socket no longer signals, and a
 * server connection (net_accept, net_conn_adopt) reads the socket ahead
 * into its own buffer: call again while net_conn_pending() is non-zero.
 * On a server connection GL_EAGAIN may come without asking the socket
 * when the last read found it empty; wait for readability as usual.
 */
int net_conn_read(struct net_conn *c, void *buf, size_t len);

/*
 * Encrypts and sends up to len bytes of buf.  Returns the number accepted
 * (> 0; at most one TLS record, 16 KiB: loop for more), GL_EAGAIN,
 * GL_ECLOSED, GL_EINVAL or GL_TLS.  After GL_EAGAIN call again with the
 * same bytes (mbedTLS has already taken them into its record).
 */
int net_conn_write(struct net_conn *c, const void *buf, size_t len);

/* Non-zero while decrypted or buffered bytes wait to be read. */
int net_conn_pending(const struct net_conn *c);

/* After GL_EAGAIN: NET_WANT_READ and/or NET_WANT_WRITE. */
int net_conn_want(const struct net_conn *c);

/* The socket, for the event loop. */
int net_conn_fd(const struct net_conn *c);

/* 1 when the completed handshake resumed an earlier session, else 0. */
int net_conn_resumed(const struct net_conn *c);

/*
 * The CN of the peer's verified certificate ("" before the handshake
 * completes).  The host uses a terminal's CN as its terminal id.  The
 * string is borrowed from c.
 */
const char *net_conn_peer_cn(const struct net_conn *c);

/*
 * Copies the TLS session id of the completed handshake into out and
 * returns its length (0..32; 0 when the server issued a session ticket
 * instead of an id).  For tests and diagnostics.
 */
size_t net_conn_session_id(const struct net_conn *c,
                           unsigned char out[NET_SESSION_ID_MAX]);

/* mbedTLS's text for the last failure of c ("" if none); borrowed. */
const char *net_conn_errstr(const struct net_conn *c);

/*
 * Sends a close_notify if the connection is up (one attempt, never
 * blocks), closes the socket and frees c.  NULL is allowed.
 */
void net_conn_close(struct net_conn *c);

#endif /* GL_NET_H */
