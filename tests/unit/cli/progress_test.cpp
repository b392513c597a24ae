// Compose's progress writers (cli/progress.hpp): plain lines, JSON objects, and the tty block
// drawn at a fixed width with a fixed clock.
#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

#include "cli/progress.hpp"
#include "sys/error.hpp"

using berth::cli::ProgressEvent;
using berth::cli::ProgressMode;
using berth::cli::resolve_progress_mode;
using Clock = std::chrono::steady_clock;

namespace {

ProgressEvent pull_event(const std::string& service, const std::string& text) {
    ProgressEvent e;
    e.id = service;
    e.text = text;
    e.state = ProgressEvent::state_of(text);
    return e;
}

std::string strip(std::string s, const std::vector<std::string>& codes) {
    for (auto& c : codes)
        for (size_t p; (p = s.find(c)) != std::string::npos;) s.erase(p, c.size());
    return s;
}

// A tty writer on `out` at width 50 whose clock is `now`.
std::unique_ptr<berth::cli::ProgressWriter> tty(std::ostringstream& out, const Clock::time_point& now, bool color = false) {
    berth::cli::TtyProgressOptions o;
    o.color = color;
    o.animate = false;
    o.width = [] { return 50; };
    o.now = [&now] { return now; };
    return berth::cli::tty_progress(out, o);
}

}  // namespace

TEST_CASE("state of Compose's status words") {
    using berth::cli::EventState;
    CHECK(ProgressEvent::state_of("Creating") == EventState::working);
    CHECK(ProgressEvent::state_of("Recreate") == EventState::working);
    CHECK(ProgressEvent::state_of("Waiting") == EventState::working);
    CHECK(ProgressEvent::state_of("Created") == EventState::done);
    CHECK(ProgressEvent::state_of("Healthy") == EventState::done);
    CHECK(ProgressEvent::state_of("Error") == EventState::error);
    CHECK(ProgressEvent::state_of("Warning: db failed (optional dependency)") == EventState::warning);
}

TEST_CASE("plain progress is Go's Println of id, text and status") {
    std::ostringstream out;
    auto w = berth::cli::plain_progress(out);
    w->event(ProgressEvent::of("Network p_default", "Creating"));
    w->event(ProgressEvent::of("Container p-web-1", "Started"));
    w->event(pull_event("web", "Pulling"));
    w->finish();
    CHECK(out.str() == " Network p_default  Creating\n Container p-web-1  Started\n web Pulling \n");
}

TEST_CASE("json progress: one object per event, empty fields left out") {
    std::ostringstream out;
    auto w = berth::cli::json_progress(out);
    w->event(ProgressEvent::of("Container p-web-1", "Started"));
    w->event(pull_event("web", "Pulling"));
    w->event(ProgressEvent::of("Volume \"p_data\"", "Created"));
    CHECK(out.str() ==
          "{\"id\":\"Container p-web-1\",\"status\":\"Started\"}\n"
          "{\"id\":\"web\",\"text\":\"Pulling\"}\n"
          "{\"id\":\"Volume \\\"p_data\\\"\",\"status\":\"Created\"}\n");
}

TEST_CASE("quiet progress writes nothing") {
    auto w = berth::cli::quiet_progress();
    w->event(ProgressEvent::of("Container p-web-1", "Started"));
    w->finish();  // nothing to observe but that it does not crash: the CLI test checks stderr
    SUCCEED();
}

TEST_CASE("tty progress: header, aligned statuses, right-aligned timers") {
    std::ostringstream out;
    auto t0 = Clock::now(), now = t0;
    auto at = [&](int ms) { now = t0 + std::chrono::milliseconds(ms); };
    auto w = tty(out, now);
    at(0), w->event(ProgressEvent::of("Network p_default", "Creating"));
    at(100), w->event(ProgressEvent::of("Network p_default", "Created"));
    w->event(ProgressEvent::of("Container p-db-1", "Creating"));
    at(300), w->event(ProgressEvent::of("Container p-db-1", "Created"));
    w->event(ProgressEvent::of("Container p-db-1", "Starting"));
    at(700), w->event(ProgressEvent::of("Container p-db-1", "Started"));
    w->event(ProgressEvent::of("Container p-web-1", "Creating"));
    CHECK(out.str().empty());  // without its thread, only refresh() and finish() draw
    at(1200), w->finish();
    std::string frame =
        "[+] Running 2/3\033[K\n"
        " ✔ Network p_default  Created                0.1s \n"
        " ✔ Container p-db-1   Started                0.6s \n"
        " ⠴ Container p-web-1  Creating               0.5s \n";
    CHECK(out.str() == "\033[?25l" + frame + "\033[?25h");
    w->event(ProgressEvent::of("Container p-web-1", "Created"));
    w->finish();
    CHECK(out.str() == "\033[?25l" + frame + "\033[?25h");  // finished: nothing more
}

TEST_CASE("tty progress redraws in place") {
    std::ostringstream out;
    auto t0 = Clock::now(), now = t0;
    auto w = tty(out, now, true);
    w->event(ProgressEvent::of("Container p-web-1", "Creating"));
    w->refresh();
    now = t0 + std::chrono::milliseconds(250);
    w->event(ProgressEvent::of("Container p-web-1", "Error"));
    w->event(ProgressEvent::of("Container p-db-1", "Started"));
    w->finish();
    std::string s = out.str();
    // the second draw goes back up over the header and the one line of the first
    auto second = s.find("\033[2A\r");
    REQUIRE(second != std::string::npos);
    CHECK(s.find("[+] Running 0/1") < second);
    CHECK(s.find("\033[36m[+] Running 2/2\033[0m", second) != std::string::npos);  // all done: cyan
    CHECK(s.find("\033[31;1m✘\033[0m Container p-web-1  \033[31;1mError\033[0m", second) != std::string::npos);
    CHECK(s.find("\033[32m✔\033[0m Container p-db-1   \033[32mStarted\033[0m", second) != std::string::npos);
    CHECK(s.find("\033[34m0.2s \033[0m") != std::string::npos);  // 250 ms, Go's %.1f
    // every line is the terminal's width
    std::string plain = strip(s.substr(second), {"\033[2A\r", "\033[?25l", "\033[?25h", "\033[K", "\033[36m", "\033[31;1m",
                                                 "\033[32m", "\033[34m", "\033[0m"});
    std::istringstream lines(plain);
    std::string l;
    std::getline(lines, l);
    while (std::getline(lines, l)) {
        size_t cols = 0;
        for (unsigned char c : l) cols += (c & 0xc0) != 0x80;
        CHECK(cols == 50);
    }
}

TEST_CASE("tty progress draws nothing while a build prints, then anew below it") {
    std::ostringstream out;
    auto now = Clock::now();
    auto w = tty(out, now);
    w->event(ProgressEvent::of("Service web", "Building"));
    w->refresh();
    CHECK(out.str().empty());
    w->event(ProgressEvent::of("Service web", "Built"));
    w->finish();
    CHECK(out.str().find("\033[") == out.str().find("\033[?25l"));  // no cursor movement up
    CHECK(out.str().find("A\r") == std::string::npos);
    CHECK(out.str().find("[+] Running 1/1") != std::string::npos);
}

TEST_CASE("progress mode as Compose selects it") {
    CHECK(resolve_progress_mode("", "auto", true) == ProgressMode::tty);
    CHECK(resolve_progress_mode("auto", "auto", false) == ProgressMode::plain);
    CHECK(resolve_progress_mode("auto", "never", true) == ProgressMode::plain);
    CHECK(resolve_progress_mode("tty", "auto", false) == ProgressMode::tty);
    CHECK(resolve_progress_mode("plain", "auto", true) == ProgressMode::plain);
    CHECK(resolve_progress_mode("json", "always", true) == ProgressMode::json);
    CHECK(resolve_progress_mode("quiet", "auto", true) == ProgressMode::quiet);
    CHECK_THROWS_WITH(resolve_progress_mode("tty", "never", true), Catch::Contains("ANSI support is disabled"));
    CHECK_THROWS_WITH(resolve_progress_mode("plain", "always", true), Catch::Contains("ANSI support is forced"));
    CHECK_THROWS_WITH(resolve_progress_mode("fancy", "auto", true), Catch::Contains("unsupported --progress value \"fancy\""));
    CHECK_THROWS_WITH(resolve_progress_mode("", "sometimes", true), Catch::Contains("--ansi"));
}

TEST_CASE("tty progress takes events from several threads while its own thread draws") {
    std::ostringstream out;
    berth::cli::TtyProgressOptions o;
    o.color = false;
    o.width = [] { return 60; };
    auto w = berth::cli::tty_progress(out, o);  // animated: a thread redraws every 100 ms
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&w, t] {
            for (int i = 0; i < 50; ++i) {
                std::string id = "Container p-" + std::to_string(t) + "-" + std::to_string(i);
                w->event(ProgressEvent::of(id, "Creating"));
                w->event(ProgressEvent::of(id, "Created"));
            }
        });
    for (auto& t : threads) t.join();
    w->finish();
    std::string s = out.str();
    auto last = s.rfind("[+] Running");
    REQUIRE(last != std::string::npos);
    CHECK(s.compare(last, 23, "[+] Running 200/200\033[K\n") == 0);
    CHECK(s.find("Container p-3-49  Created", last) != std::string::npos);
}
