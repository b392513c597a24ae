// The loader as (input, expected) fixtures, one folder per attribute family (as compose-go's
// override/merge_*_test.go): data/<family>/<case>/ holds
//   compose.yaml                    or base.yaml, override.yaml, override2.yaml (merged in order),
//                                   or a `files` list naming the -f files in order
//   env                             the OS environment, KEY=VALUE lines (HOME=/home/test by default)
//   options                         optional: profile=X, service=X, project_name=X, env_file=X,
//                                   project_directory=X, no_interpolate
//   expected.yaml                   the canonical `compose config` output, with $DIR for the case
//                                   directory
//   expected_error.txt              or: the error message, exactly
//   expected_warnings.txt           optional: the warnings, one per line
// BERTH_UPDATE_FIXTURES=1 rewrites expected.yaml / expected_error.txt from the current output
// (review the diff before committing).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <filesystem>

#include "compose/loader.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

using namespace berth;
namespace fs = std::filesystem;

namespace {

std::string trim_end(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::vector<std::string> lines_of(const fs::path& p) {
    std::vector<std::string> out;
    if (!sys::exists(p)) return out;
    for (auto& l : str::split(sys::read_file(p), '\n'))
        if (!str::trim(l).empty()) out.push_back(std::string(str::trim(l)));
    return out;
}

compose::LoadOptions options_for(const fs::path& dir) {
    compose::LoadOptions o;
    o.working_dir = dir.string();
    o.environment["HOME"] = "/home/test";
    for (auto& l : lines_of(dir / "env")) {
        auto [k, v] = str::split_once(l, '=');
        o.environment[k] = v.value_or("");
    }
    if (sys::exists(dir / "files")) {
        o.files = lines_of(dir / "files");
    } else if (sys::exists(dir / "compose.yaml")) {
        o.files = {"compose.yaml"};
    } else {
        for (const char* f : {"base.yaml", "override.yaml", "override2.yaml"})
            if (sys::exists(dir / f)) o.files.push_back(f);
    }
    for (auto& l : lines_of(dir / "options")) {
        auto [k, v] = str::split_once(l, '=');
        std::string val = v.value_or("");
        if (k == "profile") o.profiles.push_back(val);
        else if (k == "service") o.services.push_back(val);
        else if (k == "project_name") o.project_name = val;
        else if (k == "env_file") o.env_files.push_back(val);
        else if (k == "project_directory") o.project_directory = val;
        else if (k == "no_interpolate") o.interpolate = false;
        else FAIL("unknown option " << k << " in " << (dir / "options"));
    }
    return o;
}

std::string relative_to_case(std::string text, const fs::path& dir) {
    return str::replace_all(std::move(text), dir.string(), "$DIR");
}

void run_case(const fs::path& dir) {
    bool update = std::getenv("BERTH_UPDATE_FIXTURES") != nullptr;
    auto opts = options_for(dir);
    std::string output, error;
    std::vector<std::string> warnings;
    try {
        auto r = compose::load_project(opts);
        std::string canonical = compose::to_yaml(r.project);
        output = relative_to_case(canonical, dir);
        warnings = r.warnings;
        // The canonical form is itself a valid compose file that loads back to the same model
        // (read without interpolation: its values are already resolved).
        auto again = opts;
        again.files = {"-"};
        again.stdin_content = canonical;
        again.interpolate = false;
        again.project_name.clear();
        again.env_files.clear();
        INFO("reloading the canonical form of " << dir);
        CHECK(compose::to_yaml(compose::load_project(again).project) == canonical);
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::invalid);
        error = relative_to_case(e.what(), dir);
    }
    if (sys::exists(dir / "expected_error.txt") || (update && !error.empty())) {
        if (update) sys::write_file(dir / "expected_error.txt", error + "\n");
        INFO("case " << dir);
        INFO("output:\n" << output);
        CHECK(error == trim_end(sys::read_file(dir / "expected_error.txt")));
    } else {
        if (update) sys::write_file(dir / "expected.yaml", output);
        INFO("case " << dir);
        INFO("error: " << error);
        REQUIRE(error.empty());
        CHECK(output == sys::read_file(dir / "expected.yaml"));
    }
    if (sys::exists(dir / "expected_warnings.txt")) {
        INFO("case " << dir);
        std::string got;
        for (auto& w : warnings) got += relative_to_case(w, dir) + "\n";
        CHECK(trim_end(got) == trim_end(sys::read_file(dir / "expected_warnings.txt")));
    }
}

}  // namespace

TEST_CASE("loader fixtures, one folder per attribute family") {
    fs::path root = COMPOSE_TEST_DATA;
    size_t count = 0;
    for (auto& family : sys::list_dir(root)) {
        if (!sys::is_dir(root / family)) continue;
        for (auto& c : sys::list_dir(root / family)) {
            fs::path dir = root / family / c;
            if (!sys::is_dir(dir) || (!sys::exists(dir / "expected.yaml") && !sys::exists(dir / "expected_error.txt") &&
                                      !std::getenv("BERTH_UPDATE_FIXTURES")))
                continue;
            ++count;
            DYNAMIC_SECTION(family << "/" << c) { run_case(dir); }
        }
    }
    CHECK(count > 0);
}
