// The allocator libwebsockets is given (lws_set_allocator): realloc's
// contract, plus the reason lws names for each allocation.
//
// A client handshake's header table ("ah struct" and "ah data", ~5 KB) lives
// only until the upgrade is read, while the connection's own allocations
// (its wsi, its WebSocket state) live as long as it does. From one malloc
// arena the short-lived tables leave holes that long-lived allocations split,
// so each burst of reconnections took new pages at the arena's top: the
// soak's RSS rose in 0.4-0.6 MB steps (perf: 42 of 45 growths of the service
// thread's arena were in lws_header_table_attach). Header tables get pages
// of their own here, mapped for the handshake and unmapped after it; every
// other allocation goes to realloc/free as before.
#pragma once

#include <cstddef>

namespace wsprobe {

void* allocateForLibrary(void* ptr, std::size_t size, const char* reason);

// Header-table blocks on pages of their own now, and ever.
std::size_t pageBackedBlocks();
std::size_t pageBackedBlocksMade();

}  // namespace wsprobe
