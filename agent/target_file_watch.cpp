#include "target_file_watch.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace wsprobe {

namespace {

// What changes a file seen through the directory: written, created, removed,
// renamed in or out (the ConfigMap's ..data swap), permissions changed; and
// the directory itself going away.
constexpr std::uint32_t kEvents = IN_CLOSE_WRITE | IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE |
                                  IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF;
// How often directories that do not exist (yet) are looked for again.
constexpr auto kRetryMissing = std::chrono::seconds(1);

}  // namespace

TargetFileWatch::TargetFileWatch(Duration debounce, OnChange on_change)
    : debounce_(debounce), on_change_(std::move(on_change)) {}

TargetFileWatch::~TargetFileWatch() { stop(); }

std::optional<std::string> TargetFileWatch::start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return std::string("target files: inotify: ") + std::strerror(errno);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    ::close(inotify_fd_);
    inotify_fd_ = -1;
    return std::string("target files: eventfd: ") + std::strerror(errno);
  }
  thread_ = std::thread([this] { run(); });
  return std::nullopt;
}

void TargetFileWatch::watch(std::vector<std::string> directories) {
  {
    std::lock_guard lock(mutex_);
    wanted_ = std::set<std::string>(directories.begin(), directories.end());
  }
  if (wake_fd_ >= 0) {
    const std::uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
}

void TargetFileWatch::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
  thread_.join();
  ::close(inotify_fd_);
  ::close(wake_fd_);
  inotify_fd_ = wake_fd_ = -1;
}

void TargetFileWatch::sync(std::set<std::string>& missing) {
  std::set<std::string> wanted;
  {
    std::lock_guard lock(mutex_);
    wanted = wanted_;
  }
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (!wanted.count(it->second)) {
      ::inotify_rm_watch(inotify_fd_, it->first);
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
  missing.clear();
  for (const std::string& directory : wanted) {
    const bool watched = std::any_of(watches_.begin(), watches_.end(),
                                     [&](const auto& entry) { return entry.second == directory; });
    if (watched) continue;
    const int descriptor = ::inotify_add_watch(inotify_fd_, directory.c_str(), kEvents | IN_ONLYDIR);
    if (descriptor < 0) {
      missing.insert(directory);
      continue;
    }
    // inotify returns the same descriptor for a directory reached by two paths.
    watches_[descriptor] = directory;
    spdlog::debug("target files: watching {}", directory);
  }
}

void TargetFileWatch::run() {
  std::set<std::string> missing;
  sync(missing);
  constexpr TimePoint kNever = TimePoint::max();
  TimePoint due = kNever;  // a change was seen: call back at this time
  TimePoint next_retry = Clock::now() + kRetryMissing;
  alignas(inotify_event) std::array<char, 16 * 1024> buffer;
  while (!stopping_) {
    const TimePoint now = Clock::now();
    if (due != kNever && now >= due) {
      due = kNever;
      spdlog::info("target files changed: reloading");
      on_change_();
      continue;
    }
    if (!missing.empty() && now >= next_retry) {
      const std::size_t before = missing.size();
      sync(missing);
      if (missing.size() < before) due = now + debounce_;  // a directory appeared: read it
      next_retry = now + kRetryMissing;
    }
    TimePoint wake = missing.empty() ? now + std::chrono::seconds(60) : next_retry;
    wake = std::min(wake, due);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1;
    std::array<pollfd, 2> fds{{{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}}};
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(wait, 0))) < 0 &&
        errno != EINTR) {
      spdlog::error("target files: poll: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) {
      std::uint64_t count = 0;
      (void)!::read(wake_fd_, &count, sizeof count);
      sync(missing);
    }
    if (!(fds[0].revents & POLLIN)) continue;
    for (;;) {
      const ssize_t length = ::read(inotify_fd_, buffer.data(), buffer.size());
      if (length <= 0) break;
      for (ssize_t offset = 0; offset < length;) {
        const auto* event = reinterpret_cast<const inotify_event*>(buffer.data() + offset);
        offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
        if (event->mask & IN_IGNORED) {
          // The directory went away (or was replaced): watch its path again.
          if (auto gone = watches_.find(event->wd); gone != watches_.end()) {
            missing.insert(gone->second);
            watches_.erase(gone);
            next_retry = Clock::now();
          }
        }
        due = Clock::now() + debounce_;
      }
    }
  }
}

}  // namespace wsprobe
