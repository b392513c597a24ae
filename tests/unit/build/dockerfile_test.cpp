#include <catch2/catch.hpp>

#include "build/dockerfile.hpp"
#include "build/shell_lex.hpp"
#include "sys/error.hpp"

using namespace berth;
using namespace berth::build;

namespace {
std::string error_of(std::string_view text) {
    try {
        auto df = parse_dockerfile(text);
        split_stages(df);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("instructions, continuations, comments and forms") {
    auto df = parse_dockerfile(
        "# syntax=docker/dockerfile:1\n"
        "ARG BASE=busybox\n"
        "FROM $BASE AS build\n"
        "# a comment\n"
        "RUN echo a \\\n"
        "  # comment inside\n"
        "  && echo b\n"
        "\n"
        "cmd [\"sh\", \"-c\", \"echo hi\"]\n"
        "COPY --from=build --chown=1:2 a b /dst/\n");
    REQUIRE(df.instructions.size() == 5);
    CHECK(df.instructions[0].keyword == "ARG");
    CHECK(df.instructions[1].keyword == "FROM");
    CHECK(df.instructions[1].line == 3);
    auto& run = df.instructions[2];
    CHECK(run.keyword == "RUN");
    CHECK(run.line == 5);
    CHECK(run.args == "echo a   && echo b");
    CHECK_FALSE(run.json);
    auto& cmd = df.instructions[3];
    CHECK(cmd.keyword == "CMD");
    REQUIRE(cmd.json);
    CHECK(*cmd.json == std::vector<std::string>{"sh", "-c", "echo hi"});
    auto& copy = df.instructions[4];
    CHECK(copy.flag("from") == std::optional<std::string>("build"));
    CHECK(copy.flag("chown") == std::optional<std::string>("1:2"));
    CHECK(copy.args == "a b /dst/");

    auto st = split_stages(df);
    CHECK(st.global_args.size() == 1);
    REQUIRE(st.stages.size() == 1);
    CHECK(st.stages[0].name == "build");
    CHECK(st.stages[0].base == "$BASE");
    CHECK(st.stages[0].steps.size() == 3);
}

TEST_CASE("a malformed JSON form is the shell form") {
    auto df = parse_dockerfile("FROM x\nCMD [\"a\", b]\n");
    CHECK_FALSE(df.instructions[1].json);
    CHECK(df.instructions[1].args == "[\"a\", b]");
}

TEST_CASE("escape directive") {
    auto df = parse_dockerfile("# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo done\n");
    CHECK(df.escape == '`');
    CHECK(df.instructions[1].args == "dir c:\\   && echo done");
    // A directive after an instruction is a comment.
    auto df2 = parse_dockerfile("FROM x\n# escape=`\nRUN a \\\n b\n");
    CHECK(df2.escape == '\\');
    CHECK(df2.instructions[1].args == "a  b");
    CHECK(error_of("# escape=x\nFROM a\n").find("Dockerfile:1: invalid escape token") != std::string::npos);
}

TEST_CASE("heredocs") {
    auto df = parse_dockerfile(
        "FROM x\n"
        "RUN <<EOF\n"
        "echo one\n"
        "echo two\n"
        "EOF\n"
        "COPY <<-'CONF' /etc/app.conf\n"
        "\tkey=$VALUE\n"
        "\tCONF\n"
        "CMD x\n");
    REQUIRE(df.instructions.size() == 4);
    auto& run = df.instructions[1];
    REQUIRE(run.heredocs.size() == 1);
    CHECK(run.heredocs[0].name == "EOF");
    CHECK(run.heredocs[0].content == "echo one\necho two\n");
    CHECK(run.heredocs[0].expand);
    auto& copy = df.instructions[2];
    REQUIRE(copy.heredocs.size() == 1);
    CHECK(copy.heredocs[0].content == "key=$VALUE\n");
    CHECK_FALSE(copy.heredocs[0].expand);
    CHECK(df.instructions[3].line == 9);
    CHECK(error_of("FROM x\nRUN <<EOF\necho\n").find("Dockerfile:2: unterminated heredoc") != std::string::npos);
    // Not heredocs: a shift inside a word, a number after <<.
    auto df2 = parse_dockerfile("FROM x\nRUN echo $((1<<2))\nRUN cat <<2\nCMD y\n");
    REQUIRE(df2.instructions.size() == 4);
    CHECK(df2.instructions[1].heredocs.empty());
    CHECK(df2.instructions[2].heredocs.empty());
    // Two heredocs in one instruction, and one after an fd number.
    auto df3 = parse_dockerfile("FROM x\nCOPY <<A <<B /d/\na\nA\nb\nB\nRUN cat 0<<X\nx\nX\n");
    REQUIRE(df3.instructions.size() == 3);
    REQUIRE(df3.instructions[1].heredocs.size() == 2);
    CHECK(df3.instructions[1].heredocs[1].content == "b\n");
    CHECK(df3.instructions[2].heredocs.size() == 1);
}

TEST_CASE("errors name the line, all at once") {
    auto e = error_of("FROM x\nRUNN echo\nCOPY --form=a b c\nCOPY onlyone\n");
    CHECK(e.find("Dockerfile:2: unknown instruction: RUNN") != std::string::npos);
    CHECK(e.find("Dockerfile:3: unknown flag: --form") != std::string::npos);
    CHECK(e.find("Dockerfile:4: COPY requires at least two arguments") != std::string::npos);
    CHECK(error_of("RUN echo\nFROM x\n").find("Dockerfile:1: no build stage") != std::string::npos);
    CHECK(error_of("").find("cannot be empty") != std::string::npos);
    CHECK(error_of("FROM a AS 1x\n").find("Dockerfile:1: invalid name for build stage") != std::string::npos);
    CHECK(error_of("FROM a AS x\nFROM b AS X\n").find("Dockerfile:2: duplicate stage name") != std::string::npos);
    CHECK(error_of("FROM a\nSHELL sh -c\n").find("Dockerfile:2: SHELL requires the arguments to be in JSON form") != std::string::npos);
    CHECK(error_of("FROM a\nHEALTHCHECK BAD x\n").find("Dockerfile:2: Unknown type") != std::string::npos);
    CHECK(error_of("FROM a\nONBUILD FROM b\n").find("Dockerfile:2: ONBUILD may not be used with FROM") != std::string::npos);
    CHECK(error_of("FROM a\nFROM a b\n").find("Dockerfile:2: FROM requires either one or three arguments") != std::string::npos);
}

TEST_CASE("CRLF and a missing final newline") {
    auto df = parse_dockerfile("FROM x\r\nRUN a\r\nCMD b");
    REQUIRE(df.instructions.size() == 3);
    CHECK(df.instructions[1].args == "a");
    CHECK(df.instructions[2].args == "b");
}

TEST_CASE("variable substitution as Docker's shell lexer") {
    Vars v{{"A", "1"}, {"EMPTY", ""}, {"SP", "a b"}};
    CHECK(process_word("$A", v) == "1");
    CHECK(process_word("${A}x", v) == "1x");
    CHECK(process_word("${UNSET:-def}", v) == "def");
    CHECK(process_word("${EMPTY:-def}", v) == "def");
    CHECK(process_word("${EMPTY-def}", v) == "");
    CHECK(process_word("${UNSET-def}", v) == "def");
    CHECK(process_word("${A:+alt}", v) == "alt");
    CHECK(process_word("${EMPTY:+alt}", v) == "");
    CHECK(process_word("${EMPTY+alt}", v) == "alt");
    CHECK(process_word("${UNSET:-${A}2}", v) == "12");
    CHECK(process_word("'$A'", v) == "$A");
    CHECK(process_word("\"$A x\"", v) == "1 x");
    CHECK(process_word("\\$A", v) == "$A");
    CHECK(process_word("a\\ b", v) == "a b");
    CHECK(process_word("$", v) == "$");
    CHECK(process_word("\"\\\"q\\\"\"", v) == "\"q\"");
    CHECK_THROWS_AS(process_word("${A", v), Error);
    CHECK_THROWS_AS(process_word("${UNSET:?must be set}", v), Error);
    CHECK_THROWS_AS(process_word("${A/x/y}", v), Error);
    CHECK(process_words("a $SP \"$SP\" $UNSET c", v) == std::vector<std::string>{"a", "a b", "a b", "c"});
    CHECK(process_word("`x", v, '`') == "x");
    CHECK(split_words("a 'b c' \"d e\"") == std::vector<std::string>{"a", "'b c'", "\"d e\""});
}
