// Watches the directories of the target files with inotify and calls back,
// once changes have settled for `debounce`, so that the agent reloads as it
// does on SIGHUP.
//
// Directories, not files, are watched: editors replace files by renaming, and
// Kubernetes updates a mounted ConfigMap by pointing the `..data` symlink in
// the directory at a new timestamped directory (one rename in the watched
// directory; the files are symlinks through `..data`). A watched directory
// that goes away (deleted, or itself replaced through a symlink) counts as a
// change and is watched again, by its path, as soon as it exists.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "probes/clock.h"

namespace wsprobe {

class TargetFileWatch {
 public:
  using OnChange = std::function<void()>;

  TargetFileWatch(Duration debounce, OnChange on_change);
  ~TargetFileWatch();
  TargetFileWatch(const TargetFileWatch&) = delete;
  TargetFileWatch& operator=(const TargetFileWatch&) = delete;

  // Starts the watching thread; returns the error (no inotify) if any.
  std::optional<std::string> start();
  // Replaces the set of watched directories. Any thread, the callback too.
  void watch(std::vector<std::string> directories);
  void stop();

 private:
  void run();
  void sync(std::set<std::string>& missing);  // on the thread: wanted_ -> watches_

  const Duration debounce_;
  const OnChange on_change_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: watch() and stop()
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::set<std::string> wanted_;        // under mutex_
  std::map<int, std::string> watches_;  // thread only: descriptor -> directory
};

}  // namespace wsprobe
