// berth version / berth info: what this berth is and where it keeps its state.
#include <sys/utsname.h>

#include <iostream>

#include "cli/cli.hpp"

namespace berth::cli {
namespace {

Registrar reg(90, {"version"}, [](CLI::App& app, Context& ctx) {
    auto* version = app.add_subcommand("version", "Show the berth version information");
    version->callback([] {
        utsname u{};
        ::uname(&u);
        std::cout << "berth version " << BERTH_VERSION << "\n"
                  << " OS/Arch:      linux/" << u.machine << "\n"
                  << " Kernel:       " << u.release << "\n";
    });
});

}  // namespace
}  // namespace berth::cli
