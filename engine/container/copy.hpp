#pragma once
// docker cp: where a copy lands, as Docker decides it (pure, so it is unit-tested), and the tar
// helpers both directions use. The engine side (Engine::copy_from/copy_to) runs the container
// half in a forked child rooted in the container's filesystem: the running container's own
// mount namespace (its volumes and binds included), or for a stopped container a private
// overlay of its layers. Every path inside the container is resolved under that root, so a
// symlink in the image can never point a copy at the host.
#include <optional>
#include <string>

namespace berth::container {

// What the source is: a directory, or anything else (file, symlink, device: copied as itself).
struct CopySource {
    bool is_dir = false;
    std::string base;       // the last path component of the source ("" for "/")
    bool contents = false;  // the source ends with "/." : its contents, not itself
};

// What the destination is as seen where it lives.
struct CopyDestState {
    bool exists = false;
    bool is_dir = false;
    bool trailing_slash = false;  // the destination was written with a trailing "/"
    bool parent_exists = false;   // when it does not exist: is its parent a directory?
};

// Where the copy goes: into dir, with the source's top entry named name ("." = the source's
// contents spread into dir). Errors as Docker words them.
struct CopyPlacement {
    std::string dir;   // absolute or relative, as given (the destination or its parent)
    std::string name;  // the top entry's new name
};
struct CopyDecision {
    std::optional<CopyPlacement> placement;
    std::string error;  // set when placement is empty
};
CopyDecision decide_copy(const CopySource& src, const std::string& dest, const CopyDestState& st);

// A cp argument: "NAME:PATH" names a container (compose cp: a service) unless the text before
// the colon looks like a local path (starts with "/" or "." or holds a "/"), Docker's rule.
struct CopyArg {
    std::string name, path;  // name "" = a local path
};
CopyArg split_copy_arg(const std::string& s);

// A tar of path (not followed when it is a symlink) written to fd, its top entry named top
// ("." puts a directory's entries at the archive root). Owners and modes kept; follow_top
// follows path itself when it is a symlink (cp -L), never links below it.
void write_tree_tar(const std::string& path, const std::string& top, int fd, bool follow_top = false);
// Extracts the tar read from fd into dir; keep_owner keeps the archive's uid/gid (cp -a), else
// the extracting user owns everything. Entries with ".." or absolute names are refused.
void extract_tar(int fd, const std::string& dir, bool keep_owner);

}  // namespace berth::container
