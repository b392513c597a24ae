#include "cli/progress.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "sys/error.hpp"
#include "sys/json.hpp"

namespace berth::cli {
namespace {

class Plain : public ProgressWriter {
public:
    explicit Plain(std::ostream& out) : out_(out) {}
    // Go's fmt.Println("", id, text, status): every operand separated by one space, empty ones
    // included, so a container's line reads " Container p-web-1  Started".
    void event(const ProgressEvent& e) override {
        std::lock_guard<std::mutex> g(mu_);
        out_ << " " << e.id << " " << e.text << " " << e.status << "\n" << std::flush;
    }

private:
    std::ostream& out_;
    std::mutex mu_;
};

class Json : public ProgressWriter {
public:
    explicit Json(std::ostream& out) : out_(out) {}
    // Compose's jsonMessage: fields in this order, each left out when empty (omitempty).
    void event(const ProgressEvent& e) override {
        ojson j = ojson::object();
        if (!e.id.empty()) j["id"] = e.id;
        if (!e.text.empty()) j["text"] = e.text;
        if (!e.status.empty()) j["status"] = e.status;
        std::lock_guard<std::mutex> g(mu_);
        out_ << j.dump() << "\n" << std::flush;
    }

private:
    std::ostream& out_;
    std::mutex mu_;
};

class Quiet : public ProgressWriter {
public:
    void event(const ProgressEvent&) override {}
};

using Clock = std::chrono::steady_clock;

// Columns a string takes on the terminal: its code points outside ANSI escapes (the glyphs used
// here are all one column wide).
size_t visible_width(const std::string& s) {
    size_t n = 0;
    bool esc = false;
    for (unsigned char c : s) {
        if (c == 0x1b) {
            esc = true;
            continue;
        }
        if (esc) {
            if (c == 'm') esc = false;
            continue;
        }
        if ((c & 0xc0) != 0x80) ++n;
    }
    return n;
}

class Tty : public ProgressWriter {
public:
    Tty(std::ostream& out, TtyProgressOptions o) : out_(out), o_(std::move(o)) {
        if (!o_.now) o_.now = [] { return Clock::now(); };
        if (!o_.width) o_.width = [] {
            winsize ws{};
            for (int fd : {STDERR_FILENO, STDOUT_FILENO})
                if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return int(ws.ws_col);
            return 80;
        };
        if (o_.animate) ticker_ = std::thread([this] { tick(); });
    }
    ~Tty() override { finish(); }

    void event(const ProgressEvent& e) override {
        std::lock_guard<std::mutex> g(mu_);
        if (finished_) return;
        // A build prints its own output: no drawing while one runs; the block is drawn anew
        // below that output afterwards (Compose suspends its display the same way).
        if (e.status == "Building") {
            suspended_ = true;
        } else if (suspended_) {
            suspended_ = false;
            lines_ = 0;
        }
        auto now = o_.now();
        auto it = tasks_.find(e.id);
        if (it == tasks_.end()) {
            Task t{e, now, now, e.state != EventState::working};
            tasks_.emplace(e.id, t);
            ids_.push_back(e.id);
            return;
        }
        Task& t = it->second;
        if (e.state == EventState::working) {
            t.stopped = false;
        } else if (e.state != t.ev.state || !t.stopped) {
            t.end = now;
            t.stopped = true;
        }
        t.ev = e;
    }

    void refresh() override {
        std::lock_guard<std::mutex> g(mu_);
        if (!finished_) draw();
    }

    void finish() override {
        {
            std::lock_guard<std::mutex> g(mu_);
            if (finished_) return;
            finished_ = true;
        }
        cv_.notify_all();
        if (ticker_.joinable()) ticker_.join();
        std::lock_guard<std::mutex> g(mu_);
        draw();
    }

private:
    struct Task {
        ProgressEvent ev;
        Clock::time_point start, end;
        bool stopped = false;
    };

    std::string paint(const char* code, const std::string& s) const {
        return o_.color ? std::string("\033[") + code + "m" + s + "\033[0m" : s;
    }

    void tick() {
        std::unique_lock<std::mutex> lk(mu_);
        while (!finished_) {
            if (cv_.wait_for(lk, std::chrono::milliseconds(100), [this] { return finished_; })) return;
            draw();
        }
    }

    // One redraw: back to the block's first line (where the previous draw began), then the
    // header and one line per resource, each padded to the terminal width so that it covers
    // what was there. Called with mu_ held.
    void draw() {
        if (ids_.empty() || suspended_) return;
        int width = o_.width();
        auto now = o_.now();
        std::string s = "\033[?25l";  // no cursor while drawing
        if (lines_ > 0) s += "\033[" + std::to_string(lines_) + "A\r";
        size_t done = 0;
        for (auto& [_, t] : tasks_)
            if (t.ev.state != EventState::working) ++done;
        std::string header = "[+] " + o_.title + " " + std::to_string(done) + "/" + std::to_string(tasks_.size());
        if (done == tasks_.size()) header = paint("36", header);
        s += header + "\033[K\n";
        size_t pad_to = 0;
        for (auto& id : ids_) pad_to = std::max(pad_to, id.size() + 1 + tasks_.at(id).ev.text.size());
        for (auto& id : ids_) s += line(tasks_.at(id), pad_to, width, now);
        s += "\033[?25h";
        out_ << s << std::flush;
        lines_ = int(ids_.size()) + 1;
    }

    std::string line(const Task& t, size_t pad_to, int width, Clock::time_point now) const {
        const char* spin = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";  // 3 bytes each
        std::string glyph, status = t.ev.status;
        const char* color = nullptr;
        switch (t.ev.state) {
            case EventState::done: glyph = paint("32", "✔"), color = "32"; break;
            case EventState::warning: glyph = paint("33;1", "!"), color = "33;1"; break;
            case EventState::error: glyph = paint("31;1", "✘"), color = "31;1"; break;
            case EventState::working: {
                auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - t.start).count();
                glyph = paint("33", std::string(spin + 3 * ((ms / 100) % 10), 3));
                break;
            }
        }
        std::string text = t.ev.id + " " + t.ev.text;
        // A long status (an error) is cut so that the line stays one line.
        long room = long(width) - long(text.size()) - long(pad_to) - 15;
        if (room > 0 && long(status.size()) > room) status = status.substr(0, size_t(room)) + "...";
        std::string left = " " + glyph + " " + text + std::string(pad_to > text.size() ? pad_to - text.size() : 0, ' ') + " " +
                           (color ? paint(color, status) : status);
        auto end = t.ev.state == EventState::working ? now : t.end;
        char timer[32];
        std::snprintf(timer, sizeof timer, "%.1fs ", std::chrono::duration<double>(end - t.start).count());
        std::string right = paint("34", timer);
        long gap = long(width) - long(visible_width(left)) - long(visible_width(right));
        return left + std::string(gap > 0 ? size_t(gap) : 0, ' ') + right + "\n";
    }

    std::ostream& out_;
    TtyProgressOptions o_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, Task> tasks_;
    std::vector<std::string> ids_;  // in order of first event
    int lines_ = 0;                 // lines the last draw wrote
    bool finished_ = false;
    bool suspended_ = false;
    std::thread ticker_;
};

}  // namespace

std::unique_ptr<ProgressWriter> plain_progress(std::ostream& out) { return std::make_unique<Plain>(out); }
std::unique_ptr<ProgressWriter> json_progress(std::ostream& out) { return std::make_unique<Json>(out); }
std::unique_ptr<ProgressWriter> quiet_progress() { return std::make_unique<Quiet>(); }
std::unique_ptr<ProgressWriter> tty_progress(std::ostream& out, TtyProgressOptions opts) {
    return std::make_unique<Tty>(out, std::move(opts));
}

ProgressMode resolve_progress_mode(const std::string& progress, const std::string& ansi, bool terminal) {
    if (ansi != "auto" && ansi != "never" && ansi != "always")
        throw Error(Errc::invalid, "unsupported --ansi value \"" + ansi + "\" (never, always or auto)");
    if (progress.empty() || progress == "auto") {
        if (ansi == "never" || !terminal) return ProgressMode::plain;
        return ProgressMode::tty;
    }
    if (progress == "tty") {
        if (ansi == "never") throw Error(Errc::invalid, "can't use --progress tty while ANSI support is disabled");
        return ProgressMode::tty;
    }
    if (progress == "plain") {
        if (ansi == "always") throw Error(Errc::invalid, "can't use --progress plain while ANSI support is forced");
        return ProgressMode::plain;
    }
    if (progress == "json") return ProgressMode::json;
    if (progress == "quiet" || progress == "none") return ProgressMode::quiet;
    throw Error(Errc::invalid, "unsupported --progress value \"" + progress + "\"");
}

}  // namespace berth::cli
