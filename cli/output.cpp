// Docker-shaped output: docker/cli's formatter.Context (table/json/template selection, header
// rendering) and its tabwriter (a copy of Go's text/tabwriter measuring cells in display
// columns), and the inspect printer (cli/command/inspect).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "cli/gofmt.hpp"
#include "cli/output.hpp"
#include "sys/error.hpp"

namespace berth::cli {

namespace {

// Display width of one code point, as go-runewidth counts it for a non-East-Asian locale:
// combining marks and zero-width characters 0, wide and fullwidth characters (CJK, Hangul,
// fullwidth forms, emoji) 2, everything else 1.
int rune_width(char32_t r) {
    if (r == 0) return 0;
    if (r < 0x20 || (r >= 0x7F && r < 0xA0)) return 0;
    if ((r >= 0x0300 && r <= 0x036F) || (r >= 0x0483 && r <= 0x0489) || (r >= 0x0591 && r <= 0x05BD) ||
        (r >= 0x0610 && r <= 0x061A) || (r >= 0x064B && r <= 0x065F) || (r >= 0x1AB0 && r <= 0x1AFF) ||
        (r >= 0x1DC0 && r <= 0x1DFF) || (r >= 0x200B && r <= 0x200F) || (r >= 0x20D0 && r <= 0x20FF) ||
        (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0xFE20 && r <= 0xFE2F) || r == 0xFEFF || (r >= 0xE0100 && r <= 0xE01EF))
        return 0;
    if ((r >= 0x1100 && r <= 0x115F) || (r >= 0x2E80 && r <= 0x303E) || (r >= 0x3041 && r <= 0x33FF) ||
        (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0xA000 && r <= 0xA4CF) ||
        (r >= 0xAC00 && r <= 0xD7A3) || (r >= 0xF900 && r <= 0xFAFF) || (r >= 0xFE30 && r <= 0xFE4F) ||
        (r >= 0xFF00 && r <= 0xFF60) || (r >= 0xFFE0 && r <= 0xFFE6) || (r >= 0x1F300 && r <= 0x1F64F) ||
        (r >= 0x1F900 && r <= 0x1F9FF) || (r >= 0x20000 && r <= 0x3FFFD))
        return 2;
    return 1;
}

int display_width(std::string_view s) {
    int w = 0;
    for (size_t i = 0; i < s.size();) {
        gofmt::Rune r = gofmt::decode_rune(s, i);
        w += rune_width(r.r);  // a stray byte shows as one replacement character
        i += r.n;
    }
    return w;
}

// text/tabwriter with docker/cli's settings (minwidth 10, tabwidth 1, padding 3, padchar ' ',
// flags 0). Cells are terminated by '\t' (or '\v'); a column is a run of consecutive lines that
// all have a cell in it, as wide as its widest cell plus the padding; the text after the last
// tab of a line is not part of any column and is never padded.
class TabWriter {
public:
    std::string format(std::string_view text) {
        lines_.assign(1, {});
        std::string cell;
        for (char c : text) {
            switch (c) {
                case '\t':
                case '\v':
                    terminate(cell);
                    break;
                case '\n':
                case '\f':
                    terminate(cell);
                    lines_.emplace_back();
                    // a form feed ends every column (tabwriter flushes there)
                    if (c == '\f') flush();
                    break;
                default:
                    cell += c;
            }
        }
        if (!cell.empty()) terminate(cell);
        flush();
        return std::move(out_);
    }

private:
    static constexpr int kMinWidth = 10;
    static constexpr int kPadding = 3;

    struct Cell {
        std::string text;
        int width;
    };
    std::vector<std::vector<Cell>> lines_;
    std::vector<int> widths_;
    std::string out_;

    void terminate(std::string& cell) {
        int w = display_width(cell);
        lines_.back().push_back({std::move(cell), w});
        cell.clear();
    }

    void flush() {
        widths_.clear();
        format_block(0, lines_.size());
        // everything but the last (incomplete) line has been written with its newline
        lines_.erase(lines_.begin(), lines_.end() - 1);
    }

    void write_lines(size_t line0, size_t line1) {
        for (size_t i = line0; i < line1; ++i) {
            const auto& line = lines_[i];
            for (size_t j = 0; j < line.size(); ++j) {
                const Cell& c = line[j];
                out_ += c.text;
                if (j < widths_.size() && widths_[j] > c.width) out_.append(static_cast<size_t>(widths_[j] - c.width), ' ');
            }
            if (i + 1 < lines_.size()) out_ += '\n';
        }
    }

    void format_block(size_t line0, size_t line1) {
        size_t column = widths_.size();
        for (size_t cur = line0; cur < line1; ++cur) {
            if (column + 1 >= lines_[cur].size()) continue;
            // a cell in this column starts a block: print what comes before it
            write_lines(line0, cur);
            line0 = cur;
            int width = kMinWidth;
            for (; cur < line1; ++cur) {
                const auto& line = lines_[cur];
                if (column + 1 >= line.size()) break;
                width = std::max(width, line[column].width + kPadding);
            }
            widths_.push_back(width);
            format_block(line0, cur);
            widths_.pop_back();
            line0 = cur;
            // the loop's ++ steps over line `cur`, which has no cell in this column
        }
        write_lines(line0, line1);
    }
};

// docker/cli formatter.Context.preFormat: "table ..." drops the keyword, "json" is {{json .}},
// spaces around are trimmed and the two-character escapes \t and \n become a tab and a newline.
struct Prepared {
    bool table;
    std::string text;
};

Prepared prepare(const std::string& format, const ListFormat& spec) {
    std::string f = format;
    if (f.empty() || f == "table") f = spec.default_table;
    Prepared p{f.rfind("table", 0) == 0, f};
    if (p.table)
        p.text = f.substr(5);
    else if (f == "json")
        p.text = "{{json .}}";
    size_t b = p.text.find_first_not_of(' ');
    size_t e = p.text.find_last_not_of(' ');
    p.text = b == std::string::npos ? std::string() : p.text.substr(b, e - b + 1);
    std::string out;
    for (size_t i = 0; i < p.text.size(); ++i) {
        if (p.text[i] == '\\' && i + 1 < p.text.size() && (p.text[i + 1] == 't' || p.text[i + 1] == 'n')) {
            out += p.text[i + 1] == 't' ? '\t' : '\n';
            ++i;
        } else {
            out += p.text[i];
        }
    }
    p.text = std::move(out);
    return p;
}

}  // namespace

void Table::add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::str() const {
    std::string text;
    for (const auto& row : rows_) {
        for (size_t i = 0; i < row.size(); ++i) {
            if (i) text += '\t';
            text += row[i];
        }
        text += '\n';
    }
    return TabWriter().format(text);
}

std::string format_list(const std::vector<ojson>& items, const std::string& format, const ListFormat& spec) {
    Prepared p = prepare(format, spec);
    Template tmpl(p.text);
    // Every item is rendered before anything is printed: a template that fails on one item
    // prints nothing (Docker buffers the same way).
    std::string body;
    for (const auto& item : items) {
        body += tmpl.render(item);
        body += '\n';
    }
    if (!p.table) return body;
    std::string text = tmpl.render_header(spec.headers);
    text += '\n';
    text += body;
    return TabWriter().format(text);
}

void print_list(const std::vector<ojson>& items, const std::string& format, const ListFormat& spec) {
    std::string s = format_list(items, format, spec);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

std::string format_inspect(const std::vector<ojson>& items, const std::string& format) {
    if (format.empty() || format == "json") {
        // docker inspect: the API's JSON re-indented with four spaces; no items is "[]"
        ojson arr = ojson::array();
        for (const auto& item : items) arr.push_back(item);
        return go_json(arr, "    ") + "\n";
    }
    Template tmpl(format);
    std::string out;
    for (const auto& item : items) {
        out += tmpl.render(item);
        out += '\n';
    }
    return out;
}

void print_inspect(const std::vector<ojson>& items, const std::string& format) {
    std::string s = format_inspect(items, format);
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fflush(stdout);
}

}  // namespace berth::cli
