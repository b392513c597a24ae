// main() for privileged test executables: skip (exit 77) unless root and the folder's probe()
// finds what the tests need; then run Catch2.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <unistd.h>

#include <cstdio>

#include "privileged/probe.hpp"

int main(int argc, char** argv) {
    if (::geteuid() != 0) {
        std::fprintf(stderr, "skipped: privileged tests need root\n");
        return 77;
    }
    if (const char* why = berth_test::probe()) {
        std::fprintf(stderr, "skipped: %s\n", why);
        return 77;
    }
    return Catch::Session().run(argc, argv);
}
