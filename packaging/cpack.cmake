# The Debian package: in a build directory, `cpack -G DEB` (or
# `cmake --build . --target package`) writes wsprobe_<version>_<arch>.deb.
# Included at the end of the top-level CMakeLists.txt; the binary's own
# install rule is in agent/CMakeLists.txt (bin, under /usr in the package).

set(WSPROBE_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH
  "Where the systemd unit is installed (Debian 12: /lib/systemd/system)")
install(FILES "${PROJECT_SOURCE_DIR}/packaging/wsprobe.service"
  DESTINATION "${WSPROBE_SYSTEMD_UNIT_DIR}")
install(FILES "${PROJECT_SOURCE_DIR}/packaging/wsprobe.toml" DESTINATION /etc/wsprobe)
install(FILES "${PROJECT_SOURCE_DIR}/packaging/default" DESTINATION /etc/default RENAME wsprobe
  PERMISSIONS OWNER_READ OWNER_WRITE)
# Whatever dashboards and alert rules exist when the package is built; their
# test fixtures stay out.
install(DIRECTORY "${PROJECT_SOURCE_DIR}/dashboards/" DESTINATION share/wsprobe/dashboards
  OPTIONAL FILES_MATCHING PATTERN "*.json" PATTERN "*.yml" PATTERN "*.yaml" PATTERN "*.md"
  PATTERN "tests" EXCLUDE)
install(DIRECTORY "${PROJECT_SOURCE_DIR}/alerts/" DESTINATION share/wsprobe/alerts
  OPTIONAL FILES_MATCHING PATTERN "*.yml" PATTERN "*.yaml" PATTERN "*.md"
  PATTERN "tests" EXCLUDE)
# The man page and bash completion, written at build time by the binary from
# its own command-line definition (agent/CMakeLists.txt).
install(FILES "${CMAKE_BINARY_DIR}/wsprobe.1.gz" DESTINATION share/man/man1)
install(FILES "${CMAKE_BINARY_DIR}/wsprobe.bash-completion" DESTINATION share/bash-completion/completions
  RENAME wsprobe)
foreach(doc IN ITEMS README.md docs/runbook.md)
  if(EXISTS "${PROJECT_SOURCE_DIR}/${doc}")
    install(FILES "${PROJECT_SOURCE_DIR}/${doc}" DESTINATION share/doc/wsprobe)
  endif()
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wsprobe)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "wsprobe maintainers <wsprobe@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "holds WebSocket connections open and exports what ends them to Prometheus")
# The synopsis is the summary above; this is the extended description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "wsprobe keeps synthetic WebSocket connections open against configured
endpoints, measures ping round-trip time, connection lifetime, close codes
(above all 1006), handshake failures and reconnects, estimates the idle
timeout of the path, and publishes it all on a Prometheus /metrics endpoint
with a status page and a JSON API. Grafana dashboards and Prometheus alert
rules are in /usr/share/wsprobe.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # wsprobe_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from dpkg-shlibdeps over the linked binary;
# adduser is for the system user the postinst creates.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${PROJECT_SOURCE_DIR}/packaging/debian/postinst"
  "${PROJECT_SOURCE_DIR}/packaging/debian/prerm"
  "${PROJECT_SOURCE_DIR}/packaging/debian/postrm"
  "${PROJECT_SOURCE_DIR}/packaging/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_GENERATOR "")
include(CPack)
