#include "runtime/process.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "runtime/security_caps.hpp"
#include "runtime/security_seccomp.hpp"
#include "runtime/user.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::runtime {

namespace {

[[noreturn]] void fail(int code, std::string msg) { throw ChildError{code, std::move(msg)}; }

// Go's wording for errno, which Docker users see: "no such file or directory".
std::string go_errno(int err) {
    std::string s = std::strerror(err);
    if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
    return s;
}

std::string env_get(const std::vector<std::string>& env, std::string_view key) {
    for (auto& e : env)
        if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
            return e.substr(key.size() + 1);
    return {};
}

void reset_signals() {
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s = 1; s < NSIG; ++s) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        ::signal(s, SIG_DFL);
    }
}

}  // namespace

std::vector<std::string> final_env(const std::vector<std::string>& env, const std::string& home) {
    std::vector<std::string> out = env;
    auto has = [&](std::string_view key) {
        for (auto& e : out)
            if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') return true;
        return false;
    };
    if (!has("PATH")) out.insert(out.begin(), std::string("PATH=") + kDefaultPath);
    if (!has("HOME")) out.push_back("HOME=" + home);
    return out;
}

void write_child_error(int fd, const ChildError& e) {
    std::string msg = std::to_string(e.exit_code) + "\n" + e.message;
    // Best effort: the parent reads to EOF; a short pipe write is atomic below PIPE_BUF.
    if (msg.size() > 4000) msg.resize(4000);
    [[maybe_unused]] auto r = ::write(fd, msg.data(), msg.size());
}

bool read_child_error(int fd, ChildError& out) {
    std::string data = sys::read_fd(fd);
    if (data.empty()) return false;
    auto [code, msg] = str::split_once(data, '\n');
    out.exit_code = static_cast<int>(str::parse_int(code).value_or(125));
    out.message = msg.value_or(data);
    return true;
}

void finish_and_exec(const Process& p, const std::string& seccomp_bpf) {
    if (p.args.empty()) fail(125, "no command specified");

    for (auto& rl : p.rlimits) {
        rlimit r{static_cast<rlim_t>(rl.soft), static_cast<rlim_t>(rl.hard)};
        if (::setrlimit(rl.resource, &r) < 0)
            fail(125, "setrlimit(" + std::to_string(rl.resource) + "): " + std::strerror(errno));
    }

    ResolvedUser user;
    try {
        user = resolve_user(p.user, sys::read_file_if_exists("/etc/passwd"), sys::read_file_if_exists("/etc/group"),
                            p.additional_groups);
    } catch (const std::exception& e) {
        fail(125, e.what());
    }

    // Docker creates a missing working directory (as root, before switching user).
    if (!p.cwd.empty()) {
        try {
            sys::mkdirs(p.cwd, 0755);
        } catch (const std::exception& e) {
            fail(125, std::string("creating working directory: ") + e.what());
        }
        if (::chdir(p.cwd.c_str()) < 0) fail(125, "chdir to cwd (\"" + p.cwd + "\") set in config.json failed: " + std::strerror(errno));
    }

    auto env = final_env(p.env, user.home);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : p.args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    // Resolve the executable before dropping privileges: the lookup only stats files.
    std::string path = p.args[0];
    if (path.find('/') == std::string::npos) {
        std::string found;
        bool denied = false;
        for (auto& dir : str::split(env_get(env, "PATH"), ':')) {
            std::string cand = (dir.empty() ? std::string(".") : dir) + "/" + path;
            struct stat st;
            if (::stat(cand.c_str(), &st) < 0 || S_ISDIR(st.st_mode)) continue;
            if (!(st.st_mode & 0111)) {
                denied = true;
                continue;
            }
            found = cand;
            break;
        }
        if (found.empty()) {
            if (denied) fail(126, "exec: \"" + path + "\": permission denied");
            fail(127, "exec: \"" + path + "\": executable file not found in $PATH");
        }
        path = found;
    } else {
        struct stat st;
        if (::stat(path.c_str(), &st) < 0)
            fail(errno == ENOENT || errno == ENOTDIR ? 127 : 126, "exec: \"" + path + "\": stat " + path + ": " + go_errno(errno));
        if (S_ISDIR(st.st_mode)) fail(126, "exec: \"" + path + "\": is a directory");
    }

    // Order as runc: without no_new_privs, seccomp needs CAP_SYS_ADMIN, so it goes in before
    // the capabilities are dropped; with no_new_privs it goes in last, so the filter need not
    // allow the setup syscalls.
    bool seccomp_early = p.seccomp && !p.no_new_privileges;
    if (seccomp_early) {
        try {
            apply_seccomp_bpf(seccomp_bpf);
        } catch (const std::exception& e) {
            fail(125, std::string("applying seccomp profile: ") + e.what());
        }
    }

    try {
        CapSet caps;
        for (int c : p.caps) caps.add(c);
        set_user_and_caps(user.uid, user.gid, user.groups, caps);
    } catch (const std::exception& e) {
        fail(125, std::string("setting user and capabilities: ") + e.what());
    }

    if (p.no_new_privileges && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail(125, std::string("prctl(PR_SET_NO_NEW_PRIVS): ") + std::strerror(errno));
    if (p.seccomp && !seccomp_early) {
        try {
            apply_seccomp_bpf(seccomp_bpf);
        } catch (const std::exception& e) {
            fail(125, std::string("applying seccomp profile: ") + e.what());
        }
    }

    reset_signals();
    // No fd of ours may reach the container (CVE-2024-21626): everything above 2 is closed on
    // exec, including the error pipe, whose closing tells the parent the exec happened.
    if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        fail(125, std::string("close_range: ") + std::strerror(errno));

    ::execve(path.c_str(), argv.data(), envp.data());
    int err = errno;
    if (err == ENOENT) fail(127, "exec: \"" + path + "\": no such file or directory");
    if (err == EACCES) fail(126, "exec: \"" + path + "\": permission denied");
    fail(126, "exec: \"" + path + "\": " + go_errno(err));
}

}  // namespace berth::runtime
