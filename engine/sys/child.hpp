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

// Runs fn(arg) in a middle process that shares our memory and runs while we wait (clone with
// CLONE_VM|CLONE_VFORK, on a 64 KiB stack of its own with no guard page, with our signals
// blocked so that no handler of ours runs there), and reaps it: its waitpid status. The middle
// copies nothing itself: spawn_shim's posix_spawns from it without a copy of our page tables,
// run_orphan makes its one copy there. fn must end in _exit; what names the middle in errors.
int run_middle(int (*fn)(void*), void* arg, std::string_view what);

// Runs fn in a copy of this process (of the calling thread) that nobody waits for: its parent,
// a middle process sharing our memory, exits as soon as the copy is made, so init reaps it.
// For a system call whose end we do not need but which the kernel would make us wait for:
// a process cannot exit while one of its threads is in the kernel, so a thread will not do.
// fn runs with our signals blocked (all but glibc's own two), on the middle's 64 KiB stack, and
// with every fd closed but keep (a pipe held open would keep `$(berth ...)` waiting); it may
// only make system calls, as after fork in a threaded program. The copy costs a fork's
// page-table copy and later copy-on-write faults. Throws if the copy could not be made; what
// fn does is its own to report (through keep).
void run_orphan(const std::function<void()>& fn, std::initializer_list<int> keep);

}  // namespace berth::sys
