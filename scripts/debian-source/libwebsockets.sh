# libwebsockets for probes/: Debian 12's 4.1.6 rewrites the close codes
# 1012-1015 to 1002; 4.3.5 passes them through. Static, with libev.
source_package=libwebsockets
upstream_version=4.3.5
# The close callback sees the code on the wire; wsprobe answers the DNS
# lookups it makes off the service thread; recvmsg() keeps the kernel's
# receive stamp per wsi, and the error queue's transmit stamp after each send
# (RTT taken at the wire, issue 9) (see the patches).
patches=(libwebsockets-close-code-to-callback.patch libwebsockets-getaddrinfo-override.patch
         libwebsockets-rx-kernel-stamp.patch libwebsockets-tx-kernel-stamp.patch)
cmake_options=(
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DLWS_STATIC_PIC=ON
  -DLWS_WITH_STATIC=ON
  -DLWS_WITH_SHARED=OFF
  -DLWS_WITHOUT_TESTAPPS=ON
  -DLWS_WITH_MINIMAL_EXAMPLES=OFF
  -DLWS_WITH_PLUGINS=OFF
  -DLWS_WITH_PLUGINS_BUILTIN=OFF
  -DLWS_WITH_EVLIB_PLUGINS=OFF
  -DLWS_WITH_LWSWS=OFF
  -DLWS_WITH_SSL=ON
  -DLWS_WITH_MBEDTLS=OFF
  -DLWS_WITHOUT_CLIENT=OFF
  -DLWS_WITHOUT_SERVER=OFF
  -DLWS_IPV6=ON
  -DLWS_WITHOUT_EXTENSIONS=ON
  -DLWS_WITH_ZLIB=OFF
  -DLWS_WITH_LIBUV=OFF
  -DLWS_WITH_LIBEVENT=OFF
  # libev: an epoll loop. The default poll() loop scans every socket on each
  # wake-up, which at thousands of held connections is most of the CPU.
  -DLWS_WITH_LIBEV=ON
  -DLWS_WITH_GLIB=OFF
  -DLWS_WITH_SDEVENT=OFF
  # Netlink only tracks the routing table (to sort DNS answers and drop
  # connections whose route goes); wsprobe uses neither, and the systemd unit's
  # RestrictAddressFamilies forbids AF_NETLINK ("unable to open netlink").
  -DLWS_WITH_NETLINK=OFF
  -DLWS_WITH_EXPORT_LWSTARGETS=ON
  -DLWS_WITH_SELFTESTS=OFF
  -DLWS_WITH_GCOV=OFF
  -DLWS_WITH_ASAN=OFF
  -DDISABLE_WERROR=ON
  -DLWS_CTEST_INTERNET_AVAILABLE=OFF
  # lws would run "git describe" in its source for the version string; name the
  # Debian revision instead (lws_get_library_version(): "4.3.5-1+deb13u3").
  -DCMAKE_DISABLE_FIND_PACKAGE_Git=ON
  -DLWS_BUILD_HASH="$debian_revision"
)
expected_files=(lib/libwebsockets.a include/libwebsockets.h lib/cmake/libwebsockets/libwebsockets-config.cmake)
