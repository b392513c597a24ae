#pragma once
// A bounded worker pool for a list of independent steps (registry layer pulls and blob pushes,
// compose pull/push of several services).
#include <atomic>
#include <cstddef>
#include <functional>

namespace berth::sys {

// Calls fn(0) … fn(count - 1) on up to max_threads threads, the caller's among them. The
// first exception stops handing out further indexes, sets *stop (when given, for a step in
// progress that can give up early) and is rethrown once every thread is done.
void parallel_for(std::size_t count, std::size_t max_threads, const std::function<void(std::size_t)>& fn,
                  std::atomic<bool>* stop = nullptr);

}  // namespace berth::sys
