#pragma once
// post_start / pre_stop hook output in attached `compose up`, as Docker Compose's log printer
// shows it (pkg/compose/hook.go, cmd/formatter/logs.go): each line under the container's log
// name with " ->" ("web-1 ->  | warming cache"), in that container's colour, on stdout; the
// prefixes of every later log line are padded to the widest name seen, hook names included.
#include <mutex>
#include <string>
#include <vector>

namespace berth::cli {

class HookOutput {
public:
    // names: the short names ("web-1") of the containers whose logs will be shown, in the order
    // stream_logs colours them.
    HookOutput(std::string project, std::vector<std::string> names, bool color);
    // Lines are held until release(): they come while the progress display is drawn, and
    // Compose shows them with the logs, after "Attaching to".
    void print(const std::string& container, const std::string& line);
    void release();
    // The width log prefixes need from now on (LogStyle::min_width).
    size_t width() const;

private:
    std::string project_;
    std::vector<std::string> names_;
    bool color_;
    size_t width_ = 0;
    bool held_ = true;
    struct Held {
        std::string name, line;
        size_t index;
    };
    std::vector<Held> pending_;
    mutable std::mutex mu_;
};

}  // namespace berth::cli
