#pragma once
// Docker's json-file log driver: one JSON object per line,
//   {"log":"hello\n","stream":"stdout","time":"2026-11-22T05:50:00.123456789Z"}
// with rotation by --log-opt max-size / max-file (<id>-json.log, .1, .2, ...).
#include <cstdint>
#include <string>
#include <string_view>

#include "sys/fd.hpp"

namespace berth::shim {

class JsonLog {
public:
    // max_size < 0: no rotation (Docker's default). max_files >= 1.
    JsonLog(std::string path, std::int64_t max_size, int max_files);

    // Bytes the container wrote on a stream ("stdout"/"stderr"); complete lines are logged at
    // once, a partial line waits for its newline (or 16 KiB, or flush()).
    void write(const char* stream, std::string_view data);
    void flush();  // logs partial lines (at exit)

private:
    void emit(const char* stream, std::string_view line);
    void rotate();

    std::string path_;
    std::int64_t max_size_;
    int max_files_;
    sys::unique_fd fd_;
    std::int64_t size_ = 0;
    std::string pending_out_, pending_err_;
};

// JSON string escaping as Go's encoding/json does (including \u003c \u003e \u0026, and invalid
// UTF-8 replaced by U+FFFD).
std::string json_escape(std::string_view s);

}  // namespace berth::shim
