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
  if(WSPROBE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  if(WSPROBE_FUZZ AND CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    # fuzz/: coverage for libFuzzer, and every sanitizer report is a crash.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
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
