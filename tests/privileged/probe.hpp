#pragma once
namespace berth_test {
// Defined by each privileged test folder: nullptr when the kernel has what the tests need,
// otherwise a short reason that is printed as the skip message.
const char* probe();
}  // namespace berth_test
