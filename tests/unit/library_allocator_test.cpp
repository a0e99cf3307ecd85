#include "probes/library_allocator.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <cstring>

using wsprobe::allocateForLibrary;
using wsprobe::pageBackedBlocks;
using wsprobe::pageBackedBlocksMade;

namespace {
bool pageAligned(const void* block) {
  return reinterpret_cast<std::uintptr_t>(block) % static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE)) == 0;
}
}  // namespace

TEST_CASE("a handshake's header table gets pages of its own, returned when freed", "[unit]") {
  const std::size_t live = pageBackedBlocks();
  const std::size_t made = pageBackedBlocksMade();
  void* data = allocateForLibrary(nullptr, 4096, "ah data");
  void* table = allocateForLibrary(nullptr, 1200, "ah struct");
  REQUIRE(data != nullptr);
  REQUIRE(table != nullptr);
  CHECK(pageAligned(data));
  CHECK(pageAligned(table));
  CHECK(pageBackedBlocks() == live + 2);
  CHECK(pageBackedBlocksMade() == made + 2);
  std::memset(data, 'x', 4096);
  // Growing past its pages moves it to new ones, contents kept.
  void* grown = allocateForLibrary(data, 6000, "lws_realloc");
  REQUIRE(grown != nullptr);
  CHECK(static_cast<const char*>(grown)[4095] == 'x');
  CHECK(pageBackedBlocks() == live + 2);
  // Shrinking within them keeps it where it is.
  CHECK(allocateForLibrary(grown, 100, "lws_realloc") == grown);
  CHECK(allocateForLibrary(grown, 0, "lws_free") == nullptr);
  CHECK(allocateForLibrary(table, 0, "lws_free") == nullptr);
  CHECK(pageBackedBlocks() == live);
}

TEST_CASE("every other allocation of the library is realloc's", "[unit]") {
  const std::size_t made = pageBackedBlocksMade();
  CHECK(allocateForLibrary(nullptr, 0, "nothing") == nullptr);
  void* block = allocateForLibrary(nullptr, 64, "wsi");
  REQUIRE(block != nullptr);
  std::memcpy(block, "held", 5);
  void* grown = allocateForLibrary(block, 100000, "lws_realloc");
  REQUIRE(grown != nullptr);
  CHECK(std::strcmp(static_cast<const char*>(grown), "held") == 0);
  CHECK(allocateForLibrary(grown, 0, "lws_free") == nullptr);
  void* unnamed = allocateForLibrary(nullptr, 64, nullptr);
  REQUIRE(unnamed != nullptr);
  CHECK(allocateForLibrary(unnamed, 0, nullptr) == nullptr);
  // A malloc'd block that starts a page is still malloc's: looked up, not
  // found, grown by realloc (ASan's allocator reports a wrong free).
  void* aligned = std::aligned_alloc(4096, 4096);
  REQUIRE(aligned != nullptr);
  REQUIRE(pageAligned(aligned));
  std::memcpy(aligned, "page", 5);
  void* moved = allocateForLibrary(aligned, 8192, "lws_realloc");
  REQUIRE(moved != nullptr);
  CHECK(std::strcmp(static_cast<const char*>(moved), "page") == 0);
  CHECK(allocateForLibrary(moved, 0, "lws_free") == nullptr);
  CHECK(pageBackedBlocksMade() == made);
}
