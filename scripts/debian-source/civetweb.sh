# civetweb for agent/http_server.cpp: static, linked to OpenSSL 3 directly
# (Debian 12's 1.15 dlopen()s "libssl.so" and asks OpenSSL 3 for a function it
# no longer has, so it never served HTTPS), with the C++ wrapper that
# prometheus-cpp's CMake package asks for.
source_package=civetweb
upstream_version=1.16
cmake_options=(
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  # gmtime_r/localtime_r, not gmtime/localtime: the Date header of every
  # response is formatted on the worker threads, which otherwise share libc's
  # static struct tm (ThreadSanitizer: a data race in gmtime called from
  # mg_response_header_send, 1,000 connections against /metrics).
  # ALTERNATIVE_QUEUE: a new connection goes to the idle worker with the
  # lowest number (a scan of one slot per worker), not to whichever has waited
  # longest on a condition variable. With the default queue glibc wakes the
  # workers in turn, so scrapes reach every one of agent/http_server.cpp's
  # 1,100 workers, and each one's first request makes ~31 KB of its stack and
  # malloc cache resident: RSS grew by 35 MB over the first 1,100 scrapes
  # (4.6 hours at a 15 s scrape interval; the soak's slope). With it a
  # scrape goes to the same few workers.
  "-DCMAKE_C_FLAGS=-DREENTRANT_TIME -DALTERNATIVE_QUEUE"
  -DBUILD_SHARED_LIBS=OFF
  -DCIVETWEB_ENABLE_CXX=ON
  -DCIVETWEB_ENABLE_SSL=ON
  -DCIVETWEB_ENABLE_SSL_DYNAMIC_LOADING=OFF
  -DCIVETWEB_SSL_OPENSSL_API_1_1=OFF
  -DCIVETWEB_SSL_OPENSSL_API_3_0=ON
  -DCIVETWEB_BUILD_TESTING=OFF
  -DCIVETWEB_ENABLE_SERVER_EXECUTABLE=OFF
  -DCIVETWEB_INSTALL_EXECUTABLE=OFF
)
expected_files=(lib/libcivetweb.a lib/libcivetweb-cpp.a include/civetweb.h lib/cmake/civetweb/civetweb-config.cmake)
