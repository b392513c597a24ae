#pragma once
// nlohmann::json, included only by the files that read or write JSON (it is a heavy header).
#include <nlohmann/json.hpp>

namespace berth {
using json = nlohmann::json;          // stored state and hashing: keys sorted, canonical
using ojson = nlohmann::ordered_json;  // output shaped like Docker's (keys in Docker's order)
}  // namespace berth
