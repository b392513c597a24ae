#pragma once
// The Dockerfile as text (moby/buildkit frontend/dockerfile/parser): parser directives
// (`# escape=`, `# syntax=` accepted and ignored, `# check=` ignored), comments, line
// continuations, instruction words with their --flags, JSON (exec) or shell form, and heredocs
// (`RUN <<EOF`, `COPY <<EOF /dst`). Variables are not expanded here: that needs the build args
// and ENV in scope at each step (shell_lex.hpp, done by the executor).
//
// Every error names the file and line ("Dockerfile:7: unknown instruction: RUNN"); all
// problems are reported at once.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::build {

struct Heredoc {
    std::string name;     // the delimiter word
    std::string content;  // the lines between, each ending in '\n'
    bool expand = true;   // false when the delimiter was quoted
};

struct Flag {
    std::string name;   // "from" for --from=x
    std::string value;  // "" when given without '='
    bool has_value = false;
};

struct Instruction {
    int line = 0;          // where it starts (1-based)
    std::string keyword;   // upper case: "RUN"
    std::string original;  // as written, continuations joined (for history and errors)
    std::vector<Flag> flags;
    std::string args;      // the text after the keyword and flags
    std::optional<std::vector<std::string>> json;  // exec form, when args is a JSON string array
    std::vector<Heredoc> heredocs;

    std::optional<std::string> flag(std::string_view name) const;
};

struct Dockerfile {
    std::string name = "Dockerfile";  // for errors
    char escape = '\\';
    std::vector<Instruction> instructions;
    std::vector<std::string> warnings;
};

// Throws berth::Error(Errc::invalid) listing every problem ("Dockerfile:LINE: ...").
Dockerfile parse_dockerfile(std::string_view text, std::string name = "Dockerfile");

// Stages: instructions before the first FROM (only ARG allowed) are the global args.
struct Stage {
    int index = 0;
    std::string name;        // lower case "AS" name, "" when none
    std::string base;        // FROM's image word, unexpanded
    std::string platform;    // --platform, unexpanded
    Instruction from;
    std::vector<Instruction> steps;
};

struct Stages {
    std::vector<Instruction> global_args;
    std::vector<Stage> stages;
};

// Checks the FROM lines and splits; errors as parse_dockerfile's.
Stages split_stages(const Dockerfile& df);

// "Dockerfile:7: msg" as a berth::Error(Errc::invalid).
[[noreturn]] void fail_at(const Dockerfile& df, int line, const std::string& msg);

}  // namespace berth::build
