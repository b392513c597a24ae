#pragma once
// Compose's progress display (`compose --progress auto|tty|plain|json|quiet`), as Docker Compose
// v2 renders it (docker/compose pkg/progress):
//   plain  one line per event, " <id> <text> <status>" (Go's Println of the three)
//   json   one object per event, {"id":...,"text":...,"status":...} (empty fields left out)
//   tty    a block redrawn in place at most every 100 ms: "[+] Running 3/4", then one line per
//          resource with a spinner (✔ done, ✘ error), its status, and its elapsed time
//          right-aligned to the terminal width; a last redraw when the operation ends
//   quiet  nothing
// Every writer takes events from several threads at once.
#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "compose/progress_event.hpp"

namespace berth::cli {

using compose::EventState;
using compose::ProgressEvent;

class ProgressWriter {
public:
    virtual ~ProgressWriter() = default;
    virtual void event(const ProgressEvent& e) = 0;
    // The tty writer redraws now (its own thread does every 100 ms); the others have nothing to do.
    virtual void refresh() {}
    // Ends the display (the tty writer's last redraw); later events are ignored. Idempotent.
    virtual void finish() {}
    // A callback for compose::ExecOptions::progress and the like.
    std::function<void(const ProgressEvent&)> sink() {
        return [this](const ProgressEvent& e) { event(e); };
    }
};

std::unique_ptr<ProgressWriter> plain_progress(std::ostream& out);
std::unique_ptr<ProgressWriter> json_progress(std::ostream& out);
std::unique_ptr<ProgressWriter> quiet_progress();

struct TtyProgressOptions {
    std::string title = "Running";  // "[+] <title> n/m"
    bool color = true;
    bool animate = true;                      // a thread redraws every 100 ms; else only finish() draws
    std::function<int()> width;               // unset: the terminal's (80 when unknown)
    std::function<std::chrono::steady_clock::time_point()> now;  // unset: steady_clock::now
};
std::unique_ptr<ProgressWriter> tty_progress(std::ostream& out, TtyProgressOptions opts);

enum class ProgressMode { tty, plain, json, quiet };

// Compose's choice of display (cmd/compose selectEventProcessor): --progress, else
// COMPOSE_PROGRESS; auto is tty when stderr is a terminal and ANSI is not disabled, else plain.
// tty with --ansi never, and plain with --ansi always, are errors, as in Compose.
ProgressMode resolve_progress_mode(const std::string& progress, const std::string& ansi, bool terminal);

// --ansi, else COMPOSE_ANSI, else "auto".
std::string ansi_mode();
// Whether the progress display uses colour: not with --ansi never or NO_COLOR set.
bool progress_color();
// --progress quiet (or COMPOSE_PROGRESS=quiet): builds print nothing either.
bool progress_quiet();

// The writer the compose global flags select, on stderr (stdout with COMPOSE_STATUS_STDOUT).
// quiet forces the quiet writer whatever the flags (a command's own -q).
std::unique_ptr<ProgressWriter> make_progress(const std::string& title, bool quiet = false);

// Finishes the writer when it goes out of scope (the tty block ends before an error is printed).
class ProgressScope {
public:
    explicit ProgressScope(const std::string& title, bool quiet = false) : w_(make_progress(title, quiet)) {}
    ~ProgressScope() { w_->finish(); }
    ProgressScope(const ProgressScope&) = delete;
    ProgressScope& operator=(const ProgressScope&) = delete;
    ProgressWriter& operator*() { return *w_; }
    ProgressWriter* operator->() { return w_.get(); }
    void say(const std::string& id, const std::string& status) { w_->event(ProgressEvent::of(id, status)); }

private:
    std::unique_ptr<ProgressWriter> w_;
};

}  // namespace berth::cli
