#include "cli/hook_output.hpp"

#include <algorithm>
#include <iostream>

#include "cli/compose_ops.hpp"

namespace berth::cli {

HookOutput::HookOutput(std::string project, std::vector<std::string> names, bool color)
    : project_(std::move(project)), names_(std::move(names)), color_(color) {
    for (auto& n : names_) width_ = std::max(width_, n.size());
}

void HookOutput::print(const std::string& container, const std::string& line) {
    std::string name = short_name(project_, container);
    size_t index = size_t(std::find(names_.begin(), names_.end(), name) - names_.begin());
    name += " ->";
    std::lock_guard<std::mutex> g(mu_);
    width_ = std::max(width_, name.size());
    if (held_) {
        pending_.push_back({name, line, index});
        return;
    }
    std::cout << log_prefix(name, width_, index, color_) << line << "\n" << std::flush;
}

void HookOutput::release() {
    std::lock_guard<std::mutex> g(mu_);
    held_ = false;
    for (auto& h : pending_) std::cout << log_prefix(h.name, width_, h.index, color_) << h.line << "\n";
    std::cout << std::flush;
    pending_.clear();
}

size_t HookOutput::width() const {
    std::lock_guard<std::mutex> g(mu_);
    return width_;
}

}  // namespace berth::cli
