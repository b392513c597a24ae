#include "cli/image_pull.hpp"

#include <signal.h>
#include <unistd.h>

#include <iostream>
#include <map>
#include <vector>

#include "images/reference.hpp"
#include "registry/platform.hpp"
#include "registry/pull.hpp"
#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::cli {

namespace {

std::string bar(std::uint64_t cur, std::uint64_t total) {
    if (total == 0) return str::human_size(double(cur));
    int width = 50;
    int filled = int(double(std::min(cur, total)) / double(total) * width);
    std::string b = "[";
    for (int i = 0; i < width; ++i) b += i < filled ? '=' : (i == filled ? '>' : ' ');
    b += "]  " + str::human_size(double(cur)) + "/" + str::human_size(double(total));
    return b;
}

// Lines keyed by layer: on a terminal a layer's line is rewritten where it is (cursor up,
// clear, print, cursor down), as Docker's jsonmessage does; otherwise each status change is a
// new line and byte counts are not printed.
class Renderer {
public:
    Renderer(std::ostream& os, bool tty) : os_(os), tty_(tty) {}
    void operator()(const registry::Progress& p) {
        if (p.id.empty()) {
            os_ << p.status << "\n";
            lines_.push_back("");
            os_.flush();
            return;
        }
        std::string text = p.id + ": " + p.status;
        if (p.status == "Downloading") {
            if (!tty_) return;
            text += " " + bar(p.current, p.total);
        }
        auto it = index_.find(p.id);
        if (!tty_ || it == index_.end()) {
            if (!tty_ && last_[p.id] == p.status) return;
            last_[p.id] = p.status;
            index_[p.id] = lines_.size();
            lines_.push_back(p.id);
            os_ << text << "\n";
        } else {
            size_t up = lines_.size() - it->second;
            os_ << "\x1b[" << up << "A\r\x1b[2K" << text << "\x1b[" << up << "B\r";
        }
        os_.flush();
    }

private:
    std::ostream& os_;
    bool tty_;
    std::vector<std::string> lines_;
    std::map<std::string, size_t> index_;
    std::map<std::string, std::string> last_;
};

}  // namespace

namespace {
std::atomic<bool> g_cancel{false};
struct sigaction g_old_int, g_old_term;
extern "C" void on_pull_signal(int sig) {
    if (g_cancel.exchange(true)) ::_exit(128 + sig);
}
}  // namespace

PullInterrupts::PullInterrupts() {
    struct sigaction sa{};
    sa.sa_handler = on_pull_signal;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &g_old_int);
    ::sigaction(SIGTERM, &sa, &g_old_term);
}

PullInterrupts::~PullInterrupts() {
    ::sigaction(SIGINT, &g_old_int, nullptr);
    ::sigaction(SIGTERM, &g_old_term, nullptr);
}

const std::atomic<bool>* PullInterrupts::flag() const { return &g_cancel; }

std::optional<images::Platform> platform_flag(const std::string& text) {
    if (text.empty()) return std::nullopt;
    auto p = registry::parse_platform(text);
    if (p.os != "linux") throw_error(Errc::unsupported, "\"" + text + "\": berth runs linux images only");
    return p;
}

std::string pull_image(images::Store& store, const std::string& name, const PullDisplay& how) {
    auto given = images::parse_reference(name, false);
    auto ref = images::parse_reference(name);
    std::ostream& os = how.out ? *how.out : std::cout;
    bool tty = ::isatty(how.fd);
    Renderer render(os, tty);
    registry::PullOptions o;
    o.platform = how.platform;
    if (!how.quiet) {
        if (!given.has_tag() && !given.has_digest()) os << "Using default tag: latest\n";
        o.progress = [&](const registry::Progress& p) { render(p); };
    }
    o.cancel = how.cancel;
    auto res = registry::pull(store, ref, o);
    if (!how.quiet) {
        std::string shown = ref.familiar();
        os << "Status: " << (res.changed ? "Downloaded newer image for " : "Image is up to date for ") << shown << "\n";
    }
    if (how.print_reference) os << ref.str() << "\n";
    os.flush();
    return res.id;
}

}  // namespace berth::cli

namespace berth::cli {

std::string pull_for_build(images::Store& store, const std::string& name, bool quiet) {
    PullDisplay how;
    how.quiet = quiet;
    how.out = &std::cerr;
    how.fd = STDERR_FILENO;
    how.print_reference = false;
    return pull_image(store, name, how);
}

std::string pull_quietly(const store::Paths& paths, const std::string& name) {
    images::Store store(paths.images());
    PullDisplay how;
    how.quiet = true;
    how.print_reference = false;
    return pull_image(store, name, how);
}

}  // namespace berth::cli
