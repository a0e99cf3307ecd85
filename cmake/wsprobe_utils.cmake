# Per-target build settings, switched by small helpers instead of global flags.

function(wsprobe_enable_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
    -Wimplicit-fallthrough)
  # Not -Wnull-dereference: with GCC 12 at -O2 it fires inside libstdc++'s
  # std::string (false positives), which -Werror would turn into failures.
  if(WSPROBE_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  wsprobe_enable_sanitizers(${target})
endfunction()

# WSPROBE_PRECOMPILE_HEADERS (see CMakeLists.txt): the given headers, parsed
# once per target instead of once per file. nlohmann/json alone is about a
# third of a protocol session's compile.
function(wsprobe_precompile_headers target)
  if(WSPROBE_PRECOMPILE_HEADERS)
    target_precompile_headers(${target} PRIVATE ${ARGN})
  endif()
endfunction()
set(WSPROBE_LIBRARY_PRECOMPILED <nlohmann/json.hpp> <algorithm> <array> <chrono> <cstdint>
  <functional> <map> <memory> <optional> <string> <string_view> <vector>)

# WSPROBE_SANITIZE (see CMakeLists.txt). UBSan's reports are made fatal (it
# would otherwise print and go on), so a test with one fails; ASan's and
# TSan's are (TSan exits 66 at the end of a process that reported).
function(wsprobe_enable_sanitizers target)
  if(WSPROBE_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # fuzz/: coverage for libFuzzer, and every sanitizer report is a crash.
    # The test executables (tests/ sets WSPROBE_NO_FUZZ_COVERAGE) share the
    # libraries but are never fuzzed: the sanitizers without the coverage,
    # which costs their compiles about a fifth of their CPU time.
    set(coverage fuzzer-no-link,)
    if(WSPROBE_NO_FUZZ_COVERAGE)
      set(coverage "")
    endif()
    target_compile_options(${target} PRIVATE -fsanitize=${coverage}address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
    return()
  endif()
  if(WSPROBE_SANITIZE STREQUAL "thread")
    set(flags -fsanitize=thread)
  elseif(WSPROBE_SANITIZE)
    set(flags -fsanitize=address,undefined -fno-sanitize-recover=undefined)
  else()
    return()
  endif()
  target_compile_options(${target} PRIVATE ${flags} -fno-omit-frame-pointer)
  target_link_options(${target} PRIVATE ${flags})
endfunction()

# The library must be 4.3 or newer (see CMakeLists.txt). The 4.1.6 CMake
# package reports its version only through LIBWEBSOCKETS_VERSION-like strings,
# so read lws_config.h, which every version installs.
function(wsprobe_check_libwebsockets_version)
  # CMAKE_PREFIX_PATH (the setup script's cache) is searched before the system.
  find_file(WSPROBE_LWS_CONFIG_H lws_config.h NO_CACHE)
  if(NOT WSPROBE_LWS_CONFIG_H)
    message(FATAL_ERROR "lws_config.h not found")
  endif()
  file(STRINGS ${WSPROBE_LWS_CONFIG_H} major REGEX "#define LWS_LIBRARY_VERSION_MAJOR ")
  file(STRINGS ${WSPROBE_LWS_CONFIG_H} minor REGEX "#define LWS_LIBRARY_VERSION_MINOR ")
  string(REGEX MATCH "[0-9]+" major "${major}")
  string(REGEX MATCH "[0-9]+" minor "${minor}")
  message(STATUS "libwebsockets ${major}.${minor} (${WSPROBE_LWS_CONFIG_H})")
  if(major LESS 4 OR (major EQUAL 4 AND minor LESS 3))
    if(WSPROBE_ALLOW_OLD_LIBWEBSOCKETS)
      message(WARNING "libwebsockets ${major}.${minor} rewrites close codes 1012-1015 to 1002")
    else()
      message(FATAL_ERROR "libwebsockets ${major}.${minor} is too old (need 4.3+): run "
        "scripts/setup.sh, which builds 4.3.5 into a cache, and pass its prefix in "
        "CMAKE_PREFIX_PATH (or set WSPROBE_ALLOW_OLD_LIBWEBSOCKETS=ON)")
    endif()
  endif()
endfunction()

# One name for the library whichever way it was built: the cache build is
# static only ("websockets"); Debian's package also has "websockets_shared".
function(wsprobe_add_libwebsockets_target)
  add_library(wsprobe_libwebsockets INTERFACE)
  if(TARGET websockets_shared)
    target_link_libraries(wsprobe_libwebsockets INTERFACE websockets_shared)
  else()
    target_link_libraries(wsprobe_libwebsockets INTERFACE websockets OpenSSL::SSL
      OpenSSL::Crypto Threads::Threads ${CMAKE_DL_LIBS})
  endif()
endfunction()

# civetweb must be the cache's build (scripts/debian-source/civetweb.sh):
# static and linked to OpenSSL. Debian 12's shared 1.15 loads OpenSSL with
# dlopen("libssl.so") and cannot serve HTTPS with OpenSSL 3.
function(wsprobe_check_civetweb)
  get_target_property(type civetweb::civetweb TYPE)
  get_target_property(include_dir civetweb::civetweb INTERFACE_INCLUDE_DIRECTORIES)
  file(STRINGS "${include_dir}/civetweb.h" version REGEX "#define CIVETWEB_VERSION ")
  string(REGEX MATCH "[0-9]+\\.[0-9]+" version "${version}")
  message(STATUS "civetweb ${version}, ${type} (${civetweb_DIR})")
  if(NOT type STREQUAL "STATIC_LIBRARY" OR version VERSION_LESS 1.16)
    message(FATAL_ERROR "civetweb ${version} (${type}) from ${civetweb_DIR} is not the static "
      "1.16 that links OpenSSL: run scripts/setup.sh, which builds it into a cache, and pass "
      "its prefix in CMAKE_PREFIX_PATH")
  endif()
endfunction()

# toml++ 3.4 or newer, header-only (tomlplusplus::tomlplusplus): 3.3.0 reaches
# an unreachable program point on some non-ASCII input. toml.hpp exists from
# 3.4 on (3.3.0 has only toml.h); CMAKE_PREFIX_PATH is searched first.
function(wsprobe_add_tomlplusplus_target)
  find_path(include_dir toml++/toml.hpp NO_CACHE)
  if(NOT include_dir)
    message(FATAL_ERROR "toml++ 3.4 (toml++/toml.hpp) not found: run scripts/setup.sh, which "
      "puts it into a cache, and pass its prefix in CMAKE_PREFIX_PATH")
  endif()
  file(STRINGS "${include_dir}/toml++/impl/version.hpp" version REGEX "#define TOML_LIB_(MAJOR|MINOR|PATCH) ")
  string(REGEX REPLACE "[^0-9;]" "" version "${version}")
  list(JOIN version "." version)
  message(STATUS "toml++ ${version} (${include_dir})")
  add_library(tomlplusplus::tomlplusplus INTERFACE IMPORTED)
  set_target_properties(tomlplusplus::tomlplusplus PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${include_dir}" INTERFACE_COMPILE_DEFINITIONS TOML_HEADER_ONLY=1)
endfunction()
