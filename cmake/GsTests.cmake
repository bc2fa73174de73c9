# C unit tests (test/core/test_*.c, one process each) and busted specs
# (spec/*_spec.lua, run under luajit against the real engine), all under ctest.
file(GLOB GS_C_TESTS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/test/core/test_*.c)
foreach(src ${GS_C_TESTS})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src} ${CMAKE_SOURCE_DIR}/test/core/gs_test_client.c
    ${CMAKE_SOURCE_DIR}/test/core/gs_test_server.c)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/test/core)
  target_link_libraries(${name} PRIVATE gs_core pthread)
  add_test(NAME core/${name} COMMAND ${name})
  set_tests_properties(core/${name} PROPERTIES TIMEOUT 60
    ENVIRONMENT "GS_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endforeach()

find_program(GS_BUSTED busted)
if(NOT GS_BUSTED)
  message(FATAL_ERROR "the specs need busted: install the Debian package 'lua-busted' "
                      "(or run scripts/install-deps.sh)")
endif()
find_program(GS_LUAJIT_BIN luajit)
if(NOT GS_LUAJIT_BIN)
  message(FATAL_ERROR "the specs need the luajit interpreter: install the Debian package 'luajit2'")
endif()

file(GLOB GS_SPECS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/spec/*_spec.lua)
set(GS_SPEC_ENV
  "LUA_PATH=${CMAKE_SOURCE_DIR}/lua/?.lua\;${CMAKE_SOURCE_DIR}/lua/?/init.lua\;${CMAKE_SOURCE_DIR}/spec/?.lua\;\;"
  "LUA_CPATH=${CMAKE_BINARY_DIR}/lua/?.so\;\;"
  "GS_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "GOFR_SIM_BIN=$<TARGET_FILE:gofr-sim>")
if(GS_SANITIZE)
  # luajit itself is not instrumented: preload the sanitizer runtimes so the
  # instrumented C module can load; LuaJIT's own allocations are not leak-checked.
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so
                  OUTPUT_VARIABLE GS_LIBASAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libubsan.so
                  OUTPUT_VARIABLE GS_LIBUBSAN OUTPUT_STRIP_TRAILING_WHITESPACE)
  list(APPEND GS_SPEC_ENV "LD_PRELOAD=${GS_LIBASAN} ${GS_LIBUBSAN}" "ASAN_OPTIONS=detect_leaks=0"
       "GS_SANITIZED=1"
       "UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
endif()

foreach(spec ${GS_SPECS})
  get_filename_component(name ${spec} NAME_WE)
  add_test(NAME spec/${name}
    COMMAND ${GS_BUSTED} --lua=${GS_LUAJIT_BIN} --cpath=${CMAKE_BINARY_DIR}/lua/?.so --output=TAP ${spec}
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(spec/${name} PROPERTIES TIMEOUT 300 ENVIRONMENT "${GS_SPEC_ENV}")
endforeach()

# The specs of HTTP client behaviour run on both engines of sim.http: as
# registered above on the default engine (auto: native for http://), and
# once more as spec/<name>@curl on libcurl (GOFR_SIM_HTTP_ENGINE=curl, which
# the gofr-sim processes they start inherit).
set(GS_ENGINE_SPECS http_spec client_hardening_spec mcp_spec mcp_arguments_spec
    mcp_cancel_spec load_mcp_spec load_twin_spec twin_spec twin_fetch_spec)
foreach(name ${GS_ENGINE_SPECS})
  add_test(NAME spec/${name}@curl
    COMMAND ${GS_BUSTED} --lua=${GS_LUAJIT_BIN} --cpath=${CMAKE_BINARY_DIR}/lua/?.so --output=TAP
            ${CMAKE_SOURCE_DIR}/spec/${name}.lua
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(spec/${name}@curl PROPERTIES TIMEOUT 300
    ENVIRONMENT "${GS_SPEC_ENV};GOFR_SIM_HTTP_ENGINE=curl")
endforeach()

# Specs that install the npm test peers into build/test-peers take turns.
foreach(name mcp_spec mcp_spec@curl mcp_surface_spec mcp_load_spec oauth_spec twin_sdk_spec conformance_spec)
  if(TEST spec/${name})
    set_tests_properties(spec/${name} PROPERTIES RESOURCE_LOCK test_peers)
  endif()
endforeach()

# Specs whose assertions are about timing run alone, not beside other tests.
foreach(name scenario_spec)
  if(TEST spec/${name})
    set_tests_properties(spec/${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endforeach()

# The LuaJIT guard (test/jit/): reduced cases of known JIT miscompilations,
# run by the libluajit linked into gofr-sim and by the luajit the specs use.
foreach(runner gofr-sim luajit)
  if(runner STREQUAL "gofr-sim")
    set(GS_JIT_RUNNER $<TARGET_FILE:gofr-sim>)
  else()
    set(GS_JIT_RUNNER ${GS_LUAJIT_BIN})
  endif()
  add_test(NAME jit/guard_${runner}
    COMMAND ${GS_JIT_RUNNER} ${CMAKE_SOURCE_DIR}/test/jit/guard.lua --runs 3
    WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(jit/guard_${runner} PROPERTIES TIMEOUT 60 ENVIRONMENT "${GS_SPEC_ENV}")
endforeach()
