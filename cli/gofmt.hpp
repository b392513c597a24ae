#pragma once
// Go's value printing over JSON values (fmt's %v and Printf verbs, strconv.Quote, encoding/json),
// for the template engine and Docker-shaped output. A null `const ojson*` stands for Go's nil
// (a missing value or JSON null).
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sys/json.hpp"

namespace berth::cli::gofmt {

// One UTF-8 sequence at s[i]: the code point and its length; an invalid byte is U+FFFD, 1, bad.
struct Rune {
    char32_t r;
    size_t n;
    bool bad;
};
Rune decode_rune(std::string_view s, size_t i);
void append_utf8(std::string& out, char32_t r);
size_t rune_count(std::string_view s);
bool is_print(char32_t r);  // unicode.IsPrint, approximated outside ASCII

std::string quote(std::string_view s, char q = '"');  // strconv.Quote ('"') or QuoteRune ('\'')
std::string rune_desc(char32_t r);                    // fmt's %#U: U+007D '}'

// Go's type name of a JSON value as fmt's %T prints it: int, float64, string, bool,
// []interface {}, map[string]interface {}, <nil>.
std::string type_name(const ojson* v);
// An object's members in Go map order (keys sorted bytewise).
std::vector<std::pair<const std::string*, const ojson*>> sorted_items(const ojson& obj);

std::string sprint_value(const ojson* v);                              // fmt.Sprint(v): %v
std::string sprint(const std::vector<const ojson*>& args, bool ln);   // fmt.Sprint / Sprintln
std::string sprintf(std::string_view format, const std::vector<const ojson*>& args);

// encoding/json: compact when indent is empty, else json.MarshalIndent's layout.
void encode_json(std::string& out, const ojson& v, std::string_view indent, bool escape_html);

}  // namespace berth::cli::gofmt
