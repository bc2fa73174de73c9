# Finds gofr-sim's system libraries. Each missing one stops configuration
# with the Debian package that provides it.
find_package(PkgConfig)
if(NOT PKG_CONFIG_FOUND)
  message(FATAL_ERROR "pkg-config not found: install the Debian package 'pkg-config' "
                      "(or run scripts/install-deps.sh)")
endif()

# gs_require_pkg(<target> <pkg-config module> <debian package>)
function(gs_require_pkg target module debian)
  pkg_check_modules(${target} QUIET IMPORTED_TARGET GLOBAL ${module})
  if(NOT ${target}_FOUND)
    message(FATAL_ERROR "gofr-sim needs ${module}: install the Debian package '${debian}' "
                        "(or run scripts/install-deps.sh)")
  endif()
  message(STATUS "Found ${module} ${${target}_VERSION}")
endfunction()

# OpenResty's LuaJIT (luajit2) ships the same pkg-config name, headers and
# soname as Debian's plain luajit, which it replaces.
gs_require_pkg(GS_LUAJIT luajit libluajit2-5.1-dev)
gs_require_pkg(GS_UV libuv libuv1-dev)
gs_require_pkg(GS_CURL libcurl libcurl4-openssl-dev)
gs_require_pkg(GS_SSL openssl libssl-dev)
gs_require_pkg(GS_JWT libjwt libjwt-dev)
gs_require_pkg(GS_GUMBO gumbo libgumbo-dev)
gs_require_pkg(GS_EDIT libedit libedit-dev)

# http-parser ships no .pc file in Debian.
find_path(GS_HTTP_PARSER_INCLUDE http_parser.h)
find_library(GS_HTTP_PARSER_LIB http_parser)
if(NOT GS_HTTP_PARSER_INCLUDE OR NOT GS_HTTP_PARSER_LIB)
  message(FATAL_ERROR "gofr-sim needs http-parser: install the Debian package "
                      "'libhttp-parser-dev' (or run scripts/install-deps.sh)")
endif()
add_library(gs_http_parser INTERFACE)
target_include_directories(gs_http_parser INTERFACE ${GS_HTTP_PARSER_INCLUDE})
target_link_libraries(gs_http_parser INTERFACE ${GS_HTTP_PARSER_LIB})
message(STATUS "Found http-parser ${GS_HTTP_PARSER_LIB}")
