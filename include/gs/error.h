/* Error codes of the C core.
 *
 * EADDRINUSE shares EADDR's type ("address_error"): a listener that cannot
 * bind is one kind of failure in metrics; its message says which.
 *
 * Every core function that can fail returns 0 or a negative GS_E* code. The
 * Lua bindings are the only place that turn a code into `nil, err_type, msg`
 * or into a raised error; gs_err_type() gives the stable metric name. */
#ifndef GS_ERROR_H
#define GS_ERROR_H

#define GS_ERRNO_MAP(X)                                                                            \
  X(EINVAL, -1, "invalid_argument", "invalid argument")                                            \
  X(ENOMEM, -2, "out_of_memory", "out of memory")                                                  \
  X(ETIMEDOUT, -3, "network_timeout", "operation timed out")                                       \
  X(ECONNECT, -4, "network_connect", "could not connect")                                          \
  X(EPROTO, -5, "network_protocol", "protocol error")                                              \
  X(ENETWORK, -6, "network_error", "network error")                                                \
  X(EBODYTOOLARGE, -7, "body_too_large", "response body exceeds max_body")                         \
  X(EADDR, -8, "address_error", "cannot bind or resolve address")                                  \
  X(ENOENT, -9, "not_found", "no such file or directory")                                          \
  X(ECANCELED, -10, "canceled", "operation canceled")                                              \
  X(EIO, -11, "io_error", "input/output error")                                                    \
  X(EAUTH, -12, "auth_error", "authentication failed")                                             \
  X(ERESET, -13, "network_reset", "connection closed before any response byte")                    \
  X(EADDRINUSE, -14, "address_error", "address already in use")

enum {
#define GS_ERRNO_ENUM(name, code, type, msg) GS_##name = code,
  GS_ERRNO_MAP(GS_ERRNO_ENUM)
#undef GS_ERRNO_ENUM
};

/* Stable, lower-case name used in metrics ("network_timeout", ...). Never NULL. */
const char *gs_err_type(int code);
/* Human-readable description. Never NULL. */
const char *gs_strerror(int code);

#endif
