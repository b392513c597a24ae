#include "sys/parallel.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace berth::sys {

void parallel_for(std::size_t count, std::size_t max_threads, const std::function<void(std::size_t)>& fn,
                  std::atomic<bool>* stop) {
    std::atomic<bool> own_stop{false};
    std::atomic<bool>& halt = stop ? *stop : own_stop;
    std::atomic<std::size_t> next{0};
    std::exception_ptr first_error;
    std::mutex err_mu;
    auto worker = [&] {
        for (std::size_t k; !halt && (k = next++) < count;) {
            try {
                fn(k);
            } catch (...) {
                halt = true;
                std::lock_guard lock(err_mu);
                if (!first_error) first_error = std::current_exception();
                return;
            }
        }
    };
    std::size_t n = std::min(count, std::max<std::size_t>(1, max_threads));
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < n; ++t) threads.emplace_back(worker);
    worker();
    for (auto& t : threads) t.join();
    if (first_error) std::rethrow_exception(first_error);
}

}  // namespace berth::sys
