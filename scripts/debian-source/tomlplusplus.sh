# toml++ for agent/config.cpp, used header-only. The archive this machine's
# apt uses serves none of tomlplusplus' source files, so the headers come from
# Debian 13's -dev binary package (the same headers; index and hash checked).
# 3.3.0 (Debian 12) and 3.4.0 (Debian 13) alike reach an unreachable program
# point on some non-ASCII input (`a = -Ǔ`); upstream's fix is not in a release
# yet, so its one line is applied here (tests/unit/config_non_ascii_test.cpp).
# Both also assume that a table header starts with a key (`[!]` is undefined
# behaviour, found by fuzz/config_fuzzer): a check of ours makes it a parse
# error (tests/unit/config_table_header_test.cpp). Likewise an array element
# that starts with '}' (`a = [}`, found by the same fuzzer in CI): parse_value()
# assumes a value starts there (tests/unit/config_table_header_test.cpp).
source_package=tomlplusplus
upstream_version=3.4.0
binary_package=libtomlplusplus-dev
binary_paths=("usr/include/toml++ include/toml++")
expected_files=(include/toml++/toml.hpp include/toml++/impl/version.hpp)
patches=(tomlplusplus-unreachable-whitespace.patch tomlplusplus-table-header-key.patch tomlplusplus-array-value.patch)
