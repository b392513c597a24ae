#pragma once
// The build context: .dockerignore rules (moby/patternmatcher), the files a COPY source names
// (globs as Go's filepath.Match, a directory meaning its contents), and the content hash of what
// a COPY reads (its cache key).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace berth::build {

// .dockerignore: one pattern a line, '#' comments, '!' re-includes, '**' any number of
// directories; the last matching pattern decides; a pattern matching a directory matches
// everything below it.
class IgnoreRules {
public:
    IgnoreRules() = default;
    explicit IgnoreRules(std::string_view text);
    bool excluded(std::string_view rel_path) const;  // "a/b.txt", no leading slash
    bool has_exceptions() const { return has_exceptions_; }
    bool empty() const { return patterns_.empty(); }

private:
    struct Pattern {
        std::string text;
        std::vector<std::string> parts;  // by '/'
        bool negate = false;
    };
    std::vector<Pattern> patterns_;
    bool has_exceptions_ = false;
    static bool match(const Pattern& p, const std::vector<std::string>& path, size_t pi, size_t si);
};

// Go's filepath.Match for one path component: * ? [a-z] [^a] \x.
bool match_component(std::string_view pattern, std::string_view name);
bool has_glob(std::string_view pattern);
// "./a//b/" -> "a/b"; "/" and "." -> "".
std::string clean_rel(std::string_view p);

struct Entry {
    std::string path;  // relative, '/'-separated, sorted walk order (parents first)
    enum Type { file, dir, symlink, other } type = file;
};

// Every entry under root (not following symlinks), excluded ones left out (a directory whose
// whole subtree is excluded is not descended into unless a '!' rule could bring part back).
std::vector<Entry> list_tree(const std::filesystem::path& root, const IgnoreRules& rules);
std::vector<Entry> list_tree_fd(int rootfd, const IgnoreRules& rules);

// What one COPY source names: the entries to copy, each with its path relative to the
// destination. A directory source contributes its contents (not itself). Empty when nothing
// matches (the caller reports it).
struct CopyItem {
    std::string src;  // relative to the source root
    std::string dst;  // relative to the destination ("" = the destination itself)
    Entry::Type type = Entry::file;
    bool follow = false;  // named by the source itself: a symlink is copied as what it points to
};
struct Expansion {
    std::vector<CopyItem> items;
    bool multiple = false;  // the source was a glob or named a directory: dest is a directory
};
Expansion expand_source(const std::vector<Entry>& listing, std::string_view source);

// COPY --parents: each item goes to its path in the context, or, when the source has a "/./"
// pivot (rsync's --relative), to its path below the pivot.
void keep_parents(std::vector<CopyItem>& items, std::string_view source);
// COPY --exclude: drops the items whose path relative to the source (or to the context) matches
// one of the patterns (.dockerignore's rules: a matched directory takes everything below it).
void exclude_items(std::vector<CopyItem>& items, const std::vector<std::string>& patterns);

// sha256 over the entries' paths, types, modes, symlink targets and file contents (not times or
// owners: COPY sets those itself), in order.
std::string hash_items(int rootfd, const std::vector<CopyItem>& items);

}  // namespace berth::build
