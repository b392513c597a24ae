// File discovery, the .env files and project names, on temp directory trees.
#include <catch2/catch.hpp>

#include <filesystem>

#include "compose/loader.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"

using namespace berth;
using namespace berth::compose;
namespace fs = std::filesystem;

namespace {

struct Tree {
    sys::TempDir dir{fs::temp_directory_path(), "berth-compose-"};
    fs::path root() const { return dir.path(); }
    fs::path write(const std::string& rel, const std::string& text) {
        fs::path p = root() / rel;
        sys::mkdirs(p.parent_path());
        sys::write_file(p, text);
        return p;
    }
};

LoadOptions in(const fs::path& wd) {
    LoadOptions o;
    o.working_dir = wd.string();
    o.environment["HOME"] = "/home/test";
    return o;
}

const char* kService = "services:\n  a:\n    image: alpine\n";

std::string error_of(const LoadOptions& o) {
    try {
        load_project(o);
    } catch (const berth::Error& e) {
        CHECK(e.kind() == Errc::invalid);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("discovery: compose.yaml is found in a parent directory, with its override beside it") {
    Tree t;
    auto main = t.write("proj/compose.yaml", kService);
    auto over = t.write("proj/compose.override.yaml", "services:\n  a:\n    image: alpine:edge\n");
    sys::mkdirs(t.root() / "proj/sub/deeper");
    auto r = load_project(in(t.root() / "proj/sub/deeper"));
    CHECK(r.project.config_files == std::vector<std::string>{main.string(), over.string()});
    CHECK(r.project.working_dir == (t.root() / "proj").string());
    CHECK(r.project.name == "proj");
    CHECK(r.project.services.at("a").image == "alpine:edge");
}

TEST_CASE("discovery: the preferred name wins and the others are reported") {
    Tree t;
    t.write("p/docker-compose.yml", "services:\n  old:\n    image: x\n");
    auto preferred = t.write("p/compose.yml", kService);
    auto r = load_project(in(t.root() / "p"));
    CHECK(r.project.config_files == std::vector<std::string>{preferred.string()});
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0] == "Found multiple config files with supported names: compose.yml, docker-compose.yml\n"
                           "Using compose.yml");

    auto found_warnings = std::vector<std::string>{};
    auto files = find_default_files((t.root() / "p").string(), found_warnings);
    CHECK(files == std::vector<std::string>{preferred.string()});
}

TEST_CASE("discovery: docker-compose.yml and its override are found too") {
    Tree t;
    auto main = t.write("legacy/docker-compose.yml", kService);
    auto over = t.write("legacy/docker-compose.override.yml", "services:\n  a:\n    user: nobody\n");
    std::vector<std::string> w;
    CHECK(find_default_files((t.root() / "legacy").string(), w) ==
          std::vector<std::string>{main.string(), over.string()});
    CHECK(w.empty());
}

TEST_CASE("discovery: nothing found is an error") {
    Tree t;
    sys::mkdirs(t.root() / "empty");
    CHECK(error_of(in(t.root() / "empty")) == "no configuration file provided: not found");
}

TEST_CASE("discovery: -f paths are relative to the working directory; the project directory is the first file's") {
    Tree t;
    auto a = t.write("conf/base.yaml", kService);
    auto b = t.write("other/extra.yaml", "services:\n  a:\n    volumes: [./data:/data]\n");
    auto o = in(t.root());
    o.files = {"conf/base.yaml", "other/extra.yaml"};
    auto r = load_project(o);
    CHECK(r.project.config_files == std::vector<std::string>{a.string(), b.string()});
    CHECK(r.project.working_dir == (t.root() / "conf").string());
    // Relative paths of every file resolve against the project directory.
    CHECK(r.project.services.at("a").volumes.at(0).source == (t.root() / "conf/data").string());
}

TEST_CASE("discovery: --project-directory sets the base and where to look") {
    Tree t;
    t.write("app/compose.yaml", "services:\n  a:\n    image: alpine\n    volumes: [./d:/d]\n");
    auto o = in(t.root());
    o.project_directory = "app";
    auto r = load_project(o);
    CHECK(r.project.working_dir == (t.root() / "app").string());
    CHECK(r.project.services.at("a").volumes.at(0).source == (t.root() / "app/d").string());

    auto o2 = in(t.root());
    o2.files = {"app/compose.yaml"};
    o2.project_directory = "elsewhere";
    auto r2 = load_project(o2);
    CHECK(r2.project.working_dir == (t.root() / "elsewhere").string());
    CHECK(r2.project.name == "elsewhere");
    CHECK(r2.project.services.at("a").volumes.at(0).source == (t.root() / "elsewhere/d").string());
}

TEST_CASE("discovery: COMPOSE_FILE, from the OS or from .env, with COMPOSE_PATH_SEPARATOR") {
    Tree t;
    auto one = t.write("p/one.yaml", kService);
    auto two = t.write("p/two.yaml", "services:\n  b:\n    image: busybox\n");
    auto o = in(t.root() / "p");
    o.environment["COMPOSE_FILE"] = "one.yaml:two.yaml";
    CHECK(load_project(o).project.config_files == std::vector<std::string>{one.string(), two.string()});

    o.environment["COMPOSE_FILE"] = "two.yaml,one.yaml";
    o.environment["COMPOSE_PATH_SEPARATOR"] = ",";
    CHECK(load_project(o).project.config_files == std::vector<std::string>{two.string(), one.string()});

    t.write("p/.env", "COMPOSE_FILE=two.yaml\n");
    auto o2 = in(t.root() / "p");
    CHECK(load_project(o2).project.config_files == std::vector<std::string>{two.string()});

    // -f wins over COMPOSE_FILE.
    o2.files = {"one.yaml"};
    CHECK(load_project(o2).project.config_files == std::vector<std::string>{one.string()});
}

TEST_CASE("discovery: - reads the compose file from stdin") {
    Tree t;
    auto o = in(t.root());
    o.files = {"-"};
    o.stdin_content = "name: fromstdin\nservices:\n  a:\n    image: alpine\n    build: ./ctx\n";
    auto r = load_project(o);
    CHECK(r.project.name == "fromstdin");
    CHECK(r.project.working_dir == t.root().string());
    CHECK(r.project.services.at("a").build->context == (t.root() / "ctx").string());

    o.stdin_content = "services:\n  a: [";
    CHECK(error_of(o).rfind("<stdin>:", 0) == 0);
}

TEST_CASE(".env: the OS environment wins; --env-file replaces .env; later env files win") {
    Tree t;
    t.write("p/compose.yaml", "services:\n  a:\n    image: alpine:${TAG}\n    environment:\n      - X=${X}\n      - Y=${Y}\n");
    t.write("p/.env", "TAG=dotenv\nX=dotenv\n");
    t.write("p/first.env", "TAG=first\nY=first\n");
    t.write("p/second.env", "Y=second\n");
    auto o = in(t.root() / "p");
    o.environment["X"] = "os";
    auto r = load_project(o);
    CHECK(r.project.services.at("a").image == "alpine:dotenv");
    CHECK(r.project.services.at("a").environment.at("X") == "os");
    CHECK(r.project.env_files == std::vector<std::string>{(t.root() / "p/.env").string()});

    o.env_files = {"first.env", "second.env"};
    r = load_project(o);
    CHECK(r.project.services.at("a").image == "alpine:first");
    CHECK(r.project.services.at("a").environment.at("Y") == "second");

    o.env_files = {"missing.env"};
    CHECK(error_of(o) == "couldn't find env file: " + (t.root() / "p/missing.env").string());

    auto o2 = in(t.root() / "p");
    o2.environment["COMPOSE_DISABLE_ENV_FILE"] = "true";
    o2.environment["TAG"] = "os";
    CHECK(load_project(o2).project.services.at("a").image == "alpine:os");
}

TEST_CASE("project name: -p > COMPOSE_PROJECT_NAME > name: > directory, normalised") {
    Tree t;
    t.write("My.Project_Dir/compose.yaml", kService);
    auto wd = t.root() / "My.Project_Dir";
    auto o = in(wd);
    CHECK(load_project(o).project.name == "myproject_dir");

    t.write("My.Project_Dir/compose.override.yaml", "name: From-${SUFFIX:-file}\n");
    CHECK(load_project(o).project.name == "from-file");

    o.environment["COMPOSE_PROJECT_NAME"] = "from-env";
    CHECK(load_project(o).project.name == "from-env");

    o.project_name = "from-flag";
    auto r = load_project(o);
    CHECK(r.project.name == "from-flag");
    // The name is visible to interpolation.
    CHECK(r.project.environment.at("COMPOSE_PROJECT_NAME") == "from-flag");

    o.project_name = "Bad Name";
    CHECK(error_of(o) ==
          "invalid project name \"Bad Name\" (from -p): must consist only of lowercase alphanumeric characters, "
          "hyphens, and underscores as well as start with a letter or number");
}

TEST_CASE("project name normalisation") {
    CHECK(normalize_project_name("My_Project.Name") == "my_projectname");
    CHECK(normalize_project_name("__-lead") == "lead");
    CHECK(normalize_project_name("UPPER-case_9") == "upper-case_9");
    CHECK(normalize_project_name("...") == "");
    CHECK(valid_project_name("web-1_a"));
    CHECK_FALSE(valid_project_name("Web"));
    CHECK_FALSE(valid_project_name("-web"));
    CHECK_FALSE(valid_project_name("_web"));
    CHECK_FALSE(valid_project_name(""));
    CHECK_FALSE(valid_project_name("a.b"));
}

TEST_CASE("warnings: version is obsolete, unset variables, optional dependencies") {
    Tree t;
    t.write("w/compose.yaml",
            "version: '3'\nservices:\n  a:\n    image: alpine:${NOPE}\n    depends_on:\n      x:\n        condition: "
            "service_started\n        required: false\n");
    auto r = load_project(in(t.root() / "w"));
    CHECK(r.warnings == std::vector<std::string>{
                            "compose.yaml: the attribute `version` is obsolete, it will be ignored, please remove it to "
                            "avoid potential confusion",
                            "The \"NOPE\" variable is not set. Defaulting to a blank string.",
                            "service \"a\" depends on \"x\", which is not part of the project; ignored as it is not "
                            "required"});
    CHECK(r.project.services.at("a").depends_on.empty());
}
