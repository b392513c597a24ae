#pragma once
// Dockerfile word processing as Docker's shell lexer (moby/buildkit frontend/dockerfile/shell)
// does it for the instructions that expand variables (ADD COPY ENV EXPOSE FROM LABEL
// STOPSIGNAL USER VOLUME WORKDIR ARG): quotes ('...' literal, "..." with \ escapes), the escape
// character, and $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word},
// ${VAR:?msg}, ${VAR?msg}. RUN, CMD and ENTRYPOINT are left to the container's shell.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::build {

// Variables in scope (build args, then ENV over them); a name not in the map is unset.
using Vars = std::map<std::string, std::string>;

// One word, unquoted and expanded. Throws berth::Error(Errc::invalid) on a bad substitution.
std::string process_word(std::string_view word, const Vars& vars, char escape = '\\');
// Splits on blanks (outside quotes), then processes each word; a word that expands to nothing
// from an unquoted variable alone is dropped, as Docker does.
std::vector<std::string> process_words(std::string_view s, const Vars& vars, char escape = '\\');
// Splits on blanks outside quotes, keeping quotes and escapes in the words (Docker's parseWords).
std::vector<std::string> split_words(std::string_view s, char escape = '\\');
// The names of the variables a word refers to (to tell which build args a step uses).
std::vector<std::string> referenced_vars(std::string_view s);

}  // namespace berth::build
