// The progress writer the compose global flags select (cli/progress.hpp), kept apart from the
// writers so that their unit tests need no command-line state.
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/compose_common.hpp"
#include "cli/progress.hpp"

namespace berth::cli {

std::string ansi_mode() {
    if (!compose_flags().ansi.empty()) return compose_flags().ansi;
    if (const char* v = std::getenv("COMPOSE_ANSI"); v && *v) return v;
    return "auto";
}

bool progress_color() {
    const char* no_color = std::getenv("NO_COLOR");
    return ansi_mode() != "never" && !(no_color && *no_color);
}

namespace {

std::string progress_flag() {
    std::string progress = compose_flags().progress;
    if (progress.empty())
        if (const char* v = std::getenv("COMPOSE_PROGRESS")) progress = v;
    return progress;
}

}  // namespace

bool progress_quiet() {
    auto p = progress_flag();
    return p == "quiet" || p == "none";
}

std::unique_ptr<ProgressWriter> make_progress(const std::string& title, bool quiet) {
    std::string progress = progress_flag();
    const char* to_stdout = std::getenv("COMPOSE_STATUS_STDOUT");
    bool on_stdout = to_stdout && (std::string(to_stdout) == "1" || std::string(to_stdout) == "true");
    std::ostream& out = on_stdout ? std::cout : std::cerr;
    auto mode = resolve_progress_mode(progress, ansi_mode(), ::isatty(on_stdout ? STDOUT_FILENO : STDERR_FILENO));
    if (quiet) return quiet_progress();
    switch (mode) {
        case ProgressMode::tty: {
            TtyProgressOptions o;
            o.title = title;
            o.color = progress_color();
            return tty_progress(out, std::move(o));
        }
        case ProgressMode::plain: return plain_progress(out);
        case ProgressMode::json: return json_progress(out);
        case ProgressMode::quiet: break;
    }
    return quiet_progress();
}

}  // namespace berth::cli
