#pragma once
// Output shaped like Docker's: tables, --format templates, JSON lines and inspect arrays.
//
// A listing command turns each item into a flat JSON object whose fields are what Docker's
// --format templates see ({{.ID}}, {{.Repository}}, {{.Status}} ...), with values as Docker
// prints them (strings, already truncated/humanised for the table), and calls print_list().
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sys/json.hpp"

namespace berth::cli {

// Docker's tabwriter settings (minwidth 10, tabwidth 1, padding 3, space padding): each column
// is as wide as its widest cell plus 3 spaces, and at least 10; the last column is not padded.
class Table {
public:
    Table() = default;
    void add(std::vector<std::string> row);
    std::string str() const;

private:
    std::vector<std::vector<std::string>> rows_;
};

struct ListFormat {
    // The default table, e.g. "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
    std::string default_table;
    // Column header for each field, e.g. {"ID": "IMAGE ID", "Repository": "REPOSITORY"}; a field
    // without an entry gets its name upper-cased (Docker's behaviour for unknown fields).
    ojson headers;
};

// Prints items according to --format, as Docker's formatter does:
//   ""  or "table"     the default table with its header line
//   "table TEMPLATE"   TEMPLATE per item, cells split on \t, with a header line made by rendering
//                      TEMPLATE against the headers
//   "json"             one compact JSON object per line
//   TEMPLATE           TEMPLATE rendered per item, one line each (no header)
// Throws berth::Error(Errc::invalid) for a template that does not parse, before printing.
std::string format_list(const std::vector<ojson>& items, const std::string& format, const ListFormat& spec);
void print_list(const std::vector<ojson>& items, const std::string& format, const ListFormat& spec);

// inspect-style output: "" -> the items as a JSON array indented by 4 spaces (Docker's);
// "json" -> the same; TEMPLATE -> rendered per item, one line each.
std::string format_inspect(const std::vector<ojson>& items, const std::string& format);
void print_inspect(const std::vector<ojson>& items, const std::string& format);

// A subset of Go's text/template, enough for what Docker users write:
//   {{.Field}} {{.A.B}} {{.}} {{json .X}} {{index .Labels "k"}} {{.Label "k"}} (reads .Labels)
//   {{upper .X}} {{lower .X}} {{title .X}} {{join .X ", "}} {{split .X ","}} {{len .X}}
//   {{printf "%s:%d" .A .B}} {{println .X}} {{truncate .X 12}} {{pad .X 1 1}}
//   pipelines {{.X | json}}, {{if .X}}..{{else}}..{{end}}, {{range .X}}..{{end}},
//   {{range $k, $v := .X}}, {{with .X}}..{{end}}, variables {{$v}}, trim markers {{- -}},
//   comparisons eq ne lt le gt ge, and or not.
// Values print as Go prints them with %v: strings raw, arrays "[a b]", objects "map[k:v]",
// a missing field "<no value>".
class Template {
public:
    explicit Template(std::string_view text);  // throws berth::Error(Errc::invalid) on a syntax error
    ~Template();
    Template(Template&&) noexcept;
    Template& operator=(Template&&) noexcept;
    std::string render(const ojson& data) const;
    // Renders a table's header line the way docker/cli does: against the column titles, with
    // json/split/join/title/lower/upper/truncate leaving the title as it is, .Label "a.b-c"
    // giving "b c", and an execution error ending the header quietly where it happened.
    std::string render_header(const ojson& headers) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

std::string render_template(std::string_view text, const ojson& data);

// JSON as Go's encoding/json writes it for Docker (json.Encoder with SetEscapeHTML(false), as the
// CLI's {{json}} and the daemon's API do): compact when indent is empty, otherwise one element
// per line (json.MarshalIndent). Floats print as Go prints float64, strings escape as Go does.
std::string go_json(const ojson& value, std::string_view indent = {});

}  // namespace berth::cli
