#include "gs/error.h"

const char *gs_err_type(int code) {
  switch (code) {
#define GS_ERRNO_TYPE(name, num, type, msg)                                                        \
  case num:                                                                                        \
    return type;
    GS_ERRNO_MAP(GS_ERRNO_TYPE)
#undef GS_ERRNO_TYPE
  }
  return "unknown_error";
}

const char *gs_strerror(int code) {
  switch (code) {
#define GS_ERRNO_MSG(name, num, type, msg)                                                         \
  case num:                                                                                        \
    return msg;
    GS_ERRNO_MAP(GS_ERRNO_MSG)
#undef GS_ERRNO_MSG
  }
  return "unknown error";
}
