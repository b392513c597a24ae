// berth version: what this berth is. Docker's layout, client side only (berth has no daemon):
// the version, the commit it was built from, the platform; `--format` renders the same data as
// Docker's `{{.Client.Version}}`, `{{.Client.GitCommit}}`, `{{json .}}`.
#include <sys/utsname.h>

#include <iostream>

#include "cli/cli.hpp"
#include "cli/output.hpp"
#include "git_commit.hpp"

namespace berth::cli {
namespace {

Registrar reg(90, {"version"}, [](CLI::App& app, Context& ctx) {
    auto* version = app.add_subcommand("version", "Show the berth version information");
    auto format = std::make_shared<std::string>();
    version->add_option("-f,--format", *format, "Format the output using the given Go template");
    version->callback([format] {
        utsname u{};
        ::uname(&u);
        if (!format->empty()) {
            ojson client = {{"Version", BERTH_VERSION}, {"GitCommit", BERTH_GIT_COMMIT}, {"Os", "linux"},
                            {"Arch", u.machine},        {"KernelVersion", u.release}};
            std::cout << render_template(*format, ojson{{"Client", client}}) << "\n";
            return;
        }
        std::cout << "berth version " << BERTH_VERSION << "\n"
                  << " Git commit:   " << BERTH_GIT_COMMIT << "\n"
                  << " OS/Arch:      linux/" << u.machine << "\n"
                  << " Kernel:       " << u.release << "\n";
    });
});

}  // namespace
}  // namespace berth::cli
