// A container's filesystem from outside it: export (a tar of the rootfs) and commit (its
// changes as a new image layer).
//
// The rootfs is mounted only inside the container's own mount namespace, so a reader here
// mounts its own read-only view in a private mount namespace of a forked child: an overlay
// whose lower layers are the container's upper dir on top of the image's layers. Overlay
// layers may be shared by any number of read-only mounts, so this works whether or not the
// container runs, and nothing is ever mounted in the host's namespace.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "container/engine.hpp"
#include "container/parse.hpp"
#include "images/changeset.hpp"
#include "images/source.hpp"
#include "images/store.hpp"
#include "runtime/attach.hpp"
#include "runtime/mounts.hpp"
#include "sys/child.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/unix_socket.hpp"

namespace berth::container {

namespace {

// Runs fn(merged_dir) in a forked child that has mounted the container's read-only view; the
// child's error comes back as text. fn must only do work that outlives no state of the parent.
void with_readonly_rootfs(const std::vector<std::string>& lowers, const std::string& mountpoint,
                          const std::function<void(const std::string&)>& fn) {
    sys::run_in_child(
        [&] {
            if (::unshare(CLONE_NEWNS) < 0) sys::throw_errno("unshare", "CLONE_NEWNS");
            if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) sys::throw_errno("mount", "/ MS_REC|MS_PRIVATE");
            runtime::mount_overlay(lowers, "", "", mountpoint);
            fn(mountpoint);
        },
        "reading the container's filesystem");
}

std::string json_array(const std::vector<std::string>& v) { return json(v).dump(); }

}  // namespace

void Engine::export_rootfs(const std::string& id_or_name, int fd) {
    auto c = records_.get(id_or_name);
    auto img = images().get(c.image_id);
    std::vector<std::string> lowers{(records_.dir(c.id) / "upper").string()};
    for (auto& d : images().layer_dirs(img)) lowers.push_back(d.string());
    // A private mountpoint per export, so two exports never share one.
    sys::TempDir mnt(paths().tmp(), "export-");
    with_readonly_rootfs(lowers, mnt.path().string(), [fd](const std::string& dir) { images::write_changeset(dir, fd); });
}

std::string Engine::commit(const std::string& id_or_name, const CommitOptions& opts) {
    auto c = records_.get(id_or_name);
    bool paused_here = false;
    auto st = records_.state(c.id);
    if (opts.pause && st.status == "running") {
        pause(c.id);
        paused_here = true;
    }
    struct Unpause {
        Engine* e;
        std::string id;
        bool active;
        ~Unpause() {
            if (active) try {
                    e->unpause(id);
                } catch (...) {
                }
        }
    } unpause_guard{this, c.id, paused_here};

    // The container's config becomes the image's, as docker commit does, then --change on top.
    const auto& cf = c.config;
    images::NewImageOptions o;
    if (!cf.entrypoint.empty()) o.changes.push_back("ENTRYPOINT " + json_array(cf.entrypoint));
    o.changes.push_back("CMD " + json_array(cf.cmd));
    for (auto& e : cf.env) {
        auto [k, v] = std::pair{e.substr(0, e.find('=')), e.find('=') == std::string::npos ? "" : e.substr(e.find('=') + 1)};
        o.changes.push_back("ENV " + k + "=" + json(v).dump());
    }
    if (!cf.working_dir.empty()) o.changes.push_back("WORKDIR " + cf.working_dir);
    if (!cf.user.empty()) o.changes.push_back("USER " + cf.user);
    for (auto& p : cf.exposed_ports) o.changes.push_back("EXPOSE " + p);
    for (auto& [k, v] : cf.labels) o.changes.push_back("LABEL " + json(k).dump() + "=" + json(v).dump());
    if (!cf.stop_signal.empty()) o.changes.push_back("STOPSIGNAL " + cf.stop_signal);
    for (auto& ch : opts.changes) o.changes.push_back(ch);
    o.comment = opts.message;
    o.author = opts.author;
    o.created_by = str_command(c);
    if (!opts.reference.empty()) o.tag = images::parse_reference(opts.reference);

    // The changes of the upper dir as a layer tar, through a temp file in the store's staging.
    sys::mkdirs(images().tmp_dir(), 0700);
    sys::TempDir tmp(images().tmp_dir(), "commit-");
    auto tar = tmp.path() / "layer.tar";
    {
        auto out = sys::open_path(tar, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        auto upper = records_.dir(c.id) / "upper";
        images::ChangesetOptions co;
        co.omit = images::runtime_stubs(upper, images().layer_dirs(images().get(c.image_id)));
        images::write_changeset(upper, out.get(), co);
    }
    auto in = sys::open_path(tar, O_RDONLY);
    images::FdSource src(in.get(), tar.string());
    auto img = images().commit(c.image_id, &src, o);
    return img.id;
}

std::string Engine::str_command(const Container& c) {
    std::string out;
    for (auto& a : c.command()) {
        if (!out.empty()) out += ' ';
        out += a;
    }
    return out;
}

}  // namespace berth::container
