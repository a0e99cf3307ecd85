#include "library_allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <unordered_map>

namespace wsprobe {

namespace {

// libwebsockets 4.3's names for a header table's two blocks
// (lib/roles/http/parsers.c, _lws_create_ah).
bool isHeaderTable(const char* reason) {
  if (reason == nullptr) return false;
  const std::string_view name(reason);
  return name == "ah data" || name == "ah struct";
}

class PageBackedBlocks {
 public:
  void* map(std::size_t size) {
    const std::size_t length = roundToPages(size);
    void* block = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) return nullptr;
    const std::lock_guard lock(mutex_);
    lengths_.emplace(block, length);
    ++made_;
    return block;
  }
  // The mapped length of `block`, 0 when it is not one of these. A block
  // that does not start a page is not (malloc's rarely do): no lock for it.
  std::size_t lengthOf(void* block) {
    if (reinterpret_cast<std::uintptr_t>(block) % pageSize() != 0) return 0;
    const std::lock_guard lock(mutex_);
    const auto found = lengths_.find(block);
    return found == lengths_.end() ? 0 : found->second;
  }
  void unmap(void* block, std::size_t length) {
    {
      const std::lock_guard lock(mutex_);
      lengths_.erase(block);
    }
    munmap(block, length);
  }
  std::size_t live() {
    const std::lock_guard lock(mutex_);
    return lengths_.size();
  }
  std::size_t made() const { return made_; }

 private:
  static std::size_t pageSize() {
    static const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return page;
  }
  static std::size_t roundToPages(std::size_t size) {
    return (size + pageSize() - 1) / pageSize() * pageSize();
  }

  std::mutex mutex_;
  std::unordered_map<void*, std::size_t> lengths_;
  std::atomic<std::size_t> made_{0};
};

// Never destroyed: libwebsockets may free after static destructors ran.
PageBackedBlocks& blocks() {
  static auto* instance = new PageBackedBlocks;
  return *instance;
}

}  // namespace

void* allocateForLibrary(void* ptr, std::size_t size, const char* reason) {
  if (ptr == nullptr) {
    if (size == 0) return nullptr;
    if (isHeaderTable(reason)) {
      if (void* block = blocks().map(size)) return block;
    }
    return std::malloc(size);
  }
  const std::size_t mapped = blocks().lengthOf(ptr);
  if (mapped == 0) {
    if (size > 0) return std::realloc(ptr, size);
    std::free(ptr);
    return nullptr;
  }
  if (size > 0 && size <= mapped) return ptr;  // still fits its pages
  void* moved = nullptr;
  if (size > 0) {
    moved = blocks().map(size);
    if (moved == nullptr) return nullptr;  // realloc's contract: ptr stays valid
    std::memcpy(moved, ptr, mapped);
  }
  blocks().unmap(ptr, mapped);
  return moved;
}

std::size_t pageBackedBlocks() { return blocks().live(); }
std::size_t pageBackedBlocksMade() { return blocks().made(); }

}  // namespace wsprobe
