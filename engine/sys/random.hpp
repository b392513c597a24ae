#pragma once
#include <string>

namespace berth::sys {
// n random lowercase hex digits from getrandom(2).
std::string random_hex(size_t n);
}
