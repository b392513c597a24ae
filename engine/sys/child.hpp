#pragma once
// Work done in a forked child of this process (a private mount namespace, a chroot, setns into
// a container), with the child's error brought back as text through a pipe. The child is a
// copy of the calling thread only: fn must not wait on other threads' locks or state.
#include <sys/types.h>

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

#include "sys/fd.hpp"

namespace berth::sys {

struct Child {
    pid_t pid = -1;
    unique_fd errors;  // read end: the text of an exception fn threw
};

// Forks; the child closes close_in_child (the parent's ends of its own pipes), runs fn and
// exits 0, or writes the exception's text and exits 1.
Child fork_child(const std::function<void()>& fn, std::initializer_list<int> close_in_child = {});

// Reaps the child: "" when it succeeded, else its error text, or when it left none
// "<what> failed: exited with status 2" / "... killed by signal 9".
std::string wait_child(Child& c, std::string_view what);

// wait_child, and a failure throws berth::Error(Errc::failed) with that text.
void check_child(Child& c, std::string_view what);

// fork_child + wait_child; a failure throws berth::Error(Errc::failed) with that text.
void run_in_child(const std::function<void()>& fn, std::string_view what);

}  // namespace berth::sys
