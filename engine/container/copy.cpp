// docker cp (copy.hpp): placement rules, tar both ways, and the container half in a child
// whose root is the container's filesystem.
#include "container/copy.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "container/engine.hpp"
#include "images/store.hpp"
#include "runtime/mounts.hpp"
#include "sys/child.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/strings.hpp"

namespace berth::container {

namespace {

std::string strip_slashes(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

std::string parent_of(const std::string& p) {
    auto s = strip_slashes(p);
    auto slash = s.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return s.substr(0, slash);
}

std::string base_of(const std::string& p) {
    auto s = strip_slashes(p);
    if (s == "/") return "";
    auto slash = s.rfind('/');
    return slash == std::string::npos ? s : s.substr(slash + 1);
}

[[noreturn]] void archive_fail(archive* a, const std::string& what) {
    const char* msg = archive_error_string(a);
    throw Error(Errc::failed, what + ": " + (msg ? msg : "archive error"));
}

}  // namespace

CopyArg split_copy_arg(const std::string& s) {
    if (s.empty() || s[0] == '/' || s[0] == '.') return {"", s};
    auto colon = s.find(':');
    if (colon == std::string::npos || s.substr(0, colon).find('/') != std::string::npos) return {"", s};
    return {s.substr(0, colon), s.substr(colon + 1)};
}

CopyDecision decide_copy(const CopySource& src, const std::string& dest, const CopyDestState& st) {
    CopyDecision d;
    bool contents = src.is_dir && (src.contents || src.base.empty());
    if (st.exists) {
        if (st.is_dir) {
            d.placement = CopyPlacement{dest, contents ? "." : src.base};
            return d;
        }
        if (src.is_dir) {
            d.error = "cannot copy a directory to a file: " + dest;
            return d;
        }
        if (st.trailing_slash) {
            d.error = "destination \"" + dest + "\" must be a directory";
            return d;
        }
        d.placement = CopyPlacement{parent_of(dest), base_of(dest)};
        return d;
    }
    if (!st.parent_exists) {
        d.error = "no such directory: \"" + parent_of(dest) + "\"";
        return d;
    }
    if (st.trailing_slash && !src.is_dir) {
        d.error = "destination directory \"" + dest + "\" does not exist";
        return d;
    }
    d.placement = CopyPlacement{parent_of(dest), base_of(dest)};
    return d;
}

void write_tree_tar(const std::string& path_in, const std::string& top, int fd, bool follow_top) {
    std::string path = strip_slashes(path_in);
    archive* disk = archive_read_disk_new();
    archive* out = archive_write_new();
    struct Free {
        archive *d, *o;
        ~Free() {
            archive_read_free(d);
            archive_write_free(o);
        }
    } guard{disk, out};
    if (follow_top) archive_read_disk_set_symlink_hybrid(disk);
    else archive_read_disk_set_symlink_physical(disk);
    archive_read_disk_set_standard_lookup(disk);
    archive_write_set_format_pax_restricted(out);
    archive_write_set_bytes_in_last_block(out, 1);
    if (archive_write_open_fd(out, fd) != ARCHIVE_OK) archive_fail(out, "writing the copy");
    if (archive_read_disk_open(disk, path.c_str()) != ARCHIVE_OK) archive_fail(disk, "reading " + path);
    std::string buf(64 * 1024, '\0');
    for (;;) {
        archive_entry* e = archive_entry_new();
        int r = archive_read_next_header2(disk, e);
        if (r == ARCHIVE_EOF) {
            archive_entry_free(e);
            break;
        }
        if (r < ARCHIVE_WARN) {
            archive_entry_free(e);
            archive_fail(disk, "reading " + path);
        }
        std::string p = archive_entry_pathname(e);
        std::string rest = path == "/" ? (p.size() > 1 ? p : "") : p.substr(std::min(p.size(), path.size()));
        archive_read_disk_descend(disk);
        if (top == "." && rest.empty()) {  // the directory itself: its contents only
            archive_entry_free(e);
            continue;
        }
        std::string name = top == "." ? rest.substr(1) : top + rest;
        archive_entry_set_pathname(e, name.c_str());
        if (archive_write_header(out, e) < ARCHIVE_WARN) {
            archive_entry_free(e);
            archive_fail(out, "writing " + name);
        }
        if (archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0) {
            for (;;) {
                la_ssize_t n = archive_read_data(disk, buf.data(), buf.size());
                if (n < 0) {
                    archive_entry_free(e);
                    archive_fail(disk, "reading " + p);
                }
                if (n == 0) break;
                if (archive_write_data(out, buf.data(), static_cast<size_t>(n)) < 0) {
                    archive_entry_free(e);
                    archive_fail(out, "writing " + name);
                }
            }
        }
        archive_entry_free(e);
    }
    if (archive_write_close(out) != ARCHIVE_OK) archive_fail(out, "writing the copy");
}

void extract_tar(int fd, const std::string& dir, bool keep_owner) {
    archive* in = archive_read_new();
    archive* disk = archive_write_disk_new();
    struct Free {
        archive *i, *d;
        ~Free() {
            archive_read_free(i);
            archive_write_free(d);
        }
    } guard{in, disk};
    archive_read_support_format_tar(in);
    int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK;
    if (keep_owner) flags |= ARCHIVE_EXTRACT_OWNER;
    archive_write_disk_set_options(disk, flags);
    archive_write_disk_set_standard_lookup(disk);
    if (::chdir(dir.c_str()) < 0) sys::throw_errno("chdir", dir);
    if (archive_read_open_fd(in, fd, 64 * 1024) != ARCHIVE_OK) archive_fail(in, "reading the copy");
    for (;;) {
        archive_entry* e = nullptr;
        int r = archive_read_next_header(in, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) archive_fail(in, "reading the copy");
        if (archive_write_header(disk, e) < ARCHIVE_WARN) archive_fail(disk, std::string("extracting ") + archive_entry_pathname(e));
        if (archive_entry_size(e) > 0) {
            const void* block;
            size_t size;
            la_int64_t off;
            while ((r = archive_read_data_block(in, &block, &size, &off)) == ARCHIVE_OK)
                if (archive_write_data_block(disk, block, size, off) < ARCHIVE_WARN)
                    archive_fail(disk, std::string("extracting ") + archive_entry_pathname(e));
            if (r != ARCHIVE_EOF) archive_fail(in, "reading the copy");
        }
        if (archive_write_finish_entry(disk) < ARCHIVE_WARN) archive_fail(disk, std::string("extracting ") + archive_entry_pathname(e));
    }
    if (archive_write_close(disk) != ARCHIVE_OK) archive_fail(disk, "extracting the copy");
}

namespace {

std::string read_line(int fd) {
    std::string line;
    char ch;
    for (;;) {
        ssize_t n = ::read(fd, &ch, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 || ch == '\n') break;
        line += ch;
    }
    return line;
}

void write_line(int fd, const std::string& s) { sys::write_all(fd, s + "\n", "copy"); }

CopyDestState dest_state(const std::string& dest) {
    CopyDestState st;
    st.trailing_slash = !dest.empty() && dest.back() == '/';
    struct stat sb;
    if (::stat(dest.c_str(), &sb) == 0) {
        st.exists = true;
        st.is_dir = S_ISDIR(sb.st_mode);
    } else {
        st.parent_exists = ::stat(parent_of(dest).c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
    }
    return st;
}

CopySource source_of(const std::string& path, bool is_dir) {
    CopySource s;
    s.is_dir = is_dir;
    s.contents = path.size() >= 2 && path.compare(path.size() - 2, 2, "/.") == 0;
    s.base = base_of(s.contents ? path.substr(0, path.size() - 2) : path);
    return s;
}

void copy_fd(int from, int to) {
    char buf[64 * 1024];
    for (;;) {
        ssize_t n = ::read(from, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) sys::throw_errno("read", "copy");
        if (n == 0) return;
        sys::write_all(to, std::string_view(buf, static_cast<size_t>(n)), "copy");
    }
}

}  // namespace

// Puts this (forked, single-threaded) process into the container's filesystem: the running
// container's mount namespace, or a private overlay of a stopped one's layers as its root.
void Engine::enter_rootfs(const Container& c, const std::string& mountpoint) {
    auto st = records_.state(c.id);
    if (st.running() && st.pid > 0) {
        auto ns = "/proc/" + std::to_string(st.pid) + "/ns/mnt";
        sys::unique_fd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) sys::throw_errno("open", ns);
        if (::setns(fd.get(), CLONE_NEWNS) < 0) sys::throw_errno("setns", ns);
        if (::chdir("/") < 0) sys::throw_errno("chdir", "/");
        return;
    }
    if (::unshare(CLONE_NEWNS) < 0) sys::throw_errno("unshare", "CLONE_NEWNS");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) sys::throw_errno("mount", "/ MS_REC|MS_PRIVATE");
    auto img = images().get(c.image_id);
    std::vector<std::string> lowers;
    for (auto& d : images().layer_dirs(img)) lowers.push_back(d.string());
    auto dir = records_.dir(c.id);
    runtime::mount_overlay(lowers, (dir / "upper").string(), (dir / "work").string(), mountpoint);
    if (::chroot(mountpoint.c_str()) < 0) sys::throw_errno("chroot", mountpoint);
    if (::chdir("/") < 0) sys::throw_errno("chdir", "/");
}

void Engine::copy_from(const std::string& id_or_name, const std::string& src, const std::string& dest, const CopyOptions& o) {
    auto c = records_.get(id_or_name);
    auto lock = records_.lock(c.id);
    sys::mkdirs(paths().tmp(), 0700);
    sys::TempDir mnt(paths().tmp(), "cp-");
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) sys::throw_errno("socketpair");
    sys::unique_fd ours(sv[0]), theirs(sv[1]);
    std::string path = src.empty() || src[0] != '/' ? "/" + src : src;
    auto child = sys::fork_child(
        [&] {
            enter_rootfs(c, mnt.path().string());
            struct stat sb;
            std::string p = path;
            if (p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0) p = p.substr(0, p.size() - 2);
            if (p.empty()) p = "/";
            if ((o.follow_link ? ::stat(p.c_str(), &sb) : ::lstat(p.c_str(), &sb)) < 0)
                throw Error(Errc::not_found, "Could not find the file " + path + " in container " + c.name);
            write_line(theirs.get(), S_ISDIR(sb.st_mode) ? "d" : "f");
            auto top = read_line(theirs.get());
            if (top.empty()) ::_exit(0);  // the host side refused the placement
            write_tree_tar(p, top, theirs.get(), o.follow_link);
        },
        {ours.get()});
    theirs.reset();
    std::string kind = read_line(ours.get());
    if (kind.empty()) {
        sys::check_child(child, "copying from the container");
        throw Error(Errc::failed, "copying from the container failed");
    }
    auto source = source_of(path, kind == "d");
    if (dest == "-") {
        write_line(ours.get(), source.base.empty() ? "." : source.base);
        copy_fd(ours.get(), STDOUT_FILENO);
        sys::check_child(child, "copying from the container");
        return;
    }
    auto decision = decide_copy(source, dest, dest_state(dest));
    if (!decision.placement) {
        write_line(ours.get(), "");
        ours.reset();
        sys::check_child(child, "copying from the container");
        throw Error(Errc::invalid, decision.error);
    }
    write_line(ours.get(), decision.placement->name);
    auto extractor = sys::fork_child([&] { extract_tar(ours.get(), decision.placement->dir, o.archive); }, {});
    ours.reset();
    sys::check_child(extractor, "extracting the copy");
    sys::check_child(child, "copying from the container");
}

void Engine::copy_to(const std::string& id_or_name, const std::string& src, const std::string& dest, const CopyOptions& o) {
    auto c = records_.get(id_or_name);
    auto lock = records_.lock(c.id);
    bool from_stdin = src == "-";
    CopySource source;
    if (!from_stdin) {
        struct stat sb;
        if ((o.follow_link ? ::stat(src.c_str(), &sb) : ::lstat(src.c_str(), &sb)) < 0)
            throw Error(Errc::not_found, "could not find the file " + src + ": " + std::strerror(errno));
        source = source_of(src, S_ISDIR(sb.st_mode));
    }
    sys::mkdirs(paths().tmp(), 0700);
    sys::TempDir mnt(paths().tmp(), "cp-");
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) sys::throw_errno("socketpair");
    sys::unique_fd ours(sv[0]), theirs(sv[1]);
    std::string target = dest.empty() || dest[0] != '/' ? "/" + dest : dest;
    auto child = sys::fork_child(
        [&] {
            enter_rootfs(c, mnt.path().string());
            auto st = dest_state(target);
            CopyPlacement place;
            if (from_stdin) {
                if (!st.exists || !st.is_dir) throw Error(Errc::invalid, "destination \"" + dest + "\" must be a directory");
                place = CopyPlacement{target, "."};
            } else {
                auto d = decide_copy(source, target, st);
                if (!d.placement) throw Error(Errc::invalid, d.error);
                place = *d.placement;
            }
            write_line(theirs.get(), place.name);
            extract_tar(theirs.get(), place.dir, o.archive);
        },
        {ours.get()});
    theirs.reset();
    std::string name = read_line(ours.get());
    if (name.empty()) {
        ours.reset();
        sys::check_child(child, "copying into the container");
        throw Error(Errc::failed, "copying into the container failed");
    }
    if (from_stdin) copy_fd(STDIN_FILENO, ours.get());
    else write_tree_tar(src, name, ours.get(), o.follow_link);
    ours.reset();
    sys::check_child(child, "copying into the container");
}

}  // namespace berth::container
