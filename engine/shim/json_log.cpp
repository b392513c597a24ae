#include "shim/json_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/time.hpp"

namespace berth::shim {

namespace {
constexpr size_t kMaxLine = 16 * 1024;  // Docker splits longer lines into 16K messages
}

std::string json_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 8);
    static const char* hex = "0123456789abcdef";
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                case '<': out += "\\u003c"; break;
                case '>': out += "\\u003e"; break;
                case '&': out += "\\u0026"; break;
                default:
                    if (c < 0x20) {
                        out += "\\u00";
                        out += hex[c >> 4];
                        out += hex[c & 15];
                    } else {
                        out += static_cast<char>(c);
                    }
            }
            ++i;
            continue;
        }
        // Validate one UTF-8 sequence; invalid bytes become U+FFFD as Go does.
        size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
        bool ok = len > 0 && c < 0xF5 && i + len <= s.size();
        for (size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xEF\xBF\xBD";
            ++i;
        }
    }
    return out;
}

JsonLog::JsonLog(std::string path, std::int64_t max_size, int max_files)
    : path_(std::move(path)), max_size_(max_size), max_files_(max_files < 1 ? 1 : max_files) {
    fd_ = sys::open_path(path_, O_WRONLY | O_CREAT | O_APPEND, 0640);
    struct stat st;
    if (::fstat(fd_.get(), &st) == 0) size_ = st.st_size;
}

void JsonLog::rotate() {
    if (max_files_ <= 1) {
        // Docker with max-file=1 truncates the one file.
        if (::ftruncate(fd_.get(), 0) < 0) sys::throw_errno("ftruncate", path_);
        size_ = 0;
        return;
    }
    for (int i = max_files_ - 1; i >= 1; --i) {
        std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
        std::string to = path_ + "." + std::to_string(i);
        ::rename(from.c_str(), to.c_str());
    }
    fd_ = sys::open_path(path_, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0640);
    size_ = 0;
}

void JsonLog::emit(const char* stream, std::string_view line) {
    std::string entry = "{\"log\":\"" + json_escape(line) + "\",\"stream\":\"" + stream + "\",\"time\":\"" +
                        sys::format_rfc3339_nano(sys::now_ns()) + "\"}\n";
    if (max_size_ > 0 && size_ > 0 && size_ + static_cast<std::int64_t>(entry.size()) > max_size_) rotate();
    sys::write_all(fd_.get(), entry, path_);
    size_ += static_cast<std::int64_t>(entry.size());
}

void JsonLog::write(const char* stream, std::string_view data) {
    std::string& pending = stream[3] == 'o' ? pending_out_ : pending_err_;  // "stdout" / "stderr"
    while (!data.empty()) {
        auto nl = data.find('\n');
        if (nl == std::string_view::npos) {
            pending.append(data);
            while (pending.size() >= kMaxLine) {
                emit(stream, std::string_view(pending).substr(0, kMaxLine));
                pending.erase(0, kMaxLine);
            }
            return;
        }
        pending.append(data.substr(0, nl + 1));
        data.remove_prefix(nl + 1);
        emit(stream, pending);
        pending.clear();
    }
}

void JsonLog::flush() {
    if (!pending_out_.empty()) emit("stdout", pending_out_);
    if (!pending_err_.empty()) emit("stderr", pending_err_);
    pending_out_.clear();
    pending_err_.clear();
}

}  // namespace berth::shim
