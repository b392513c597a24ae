#include "build/context.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "sys/error.hpp"
#include "sys/fd.hpp"
#include "sys/fs.hpp"
#include "sys/in_root.hpp"
#include "sys/sha256.hpp"
#include "sys/strings.hpp"

namespace berth::build {

namespace {

std::vector<std::string> split_path(std::string_view p) {
    std::vector<std::string> out;
    for (auto& c : str::split(p, '/'))
        if (!c.empty()) out.push_back(c);
    return out;
}

// [..] class at pattern[i] (after '['); returns the index after ']' or npos when malformed.
size_t match_class(std::string_view p, size_t i, char c, bool& matched) {
    bool negate = false;
    if (i < p.size() && (p[i] == '^' || p[i] == '!')) negate = true, ++i;
    bool any = false;
    bool first = true;
    while (i < p.size() && (p[i] != ']' || first)) {
        first = false;
        char lo = p[i];
        if (lo == '\\' && i + 1 < p.size()) lo = p[++i];
        ++i;
        char hi = lo;
        if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
            hi = p[i + 1];
            if (hi == '\\' && i + 2 < p.size()) hi = p[++i + 1];
            i += 2;
        }
        if (lo <= c && c <= hi) any = true;
    }
    if (i >= p.size()) return std::string_view::npos;
    matched = any != negate;
    return i + 1;
}

bool match_from(std::string_view p, size_t pi, std::string_view n, size_t ni) {
    while (pi < p.size()) {
        char c = p[pi];
        if (c == '*') {
            while (pi < p.size() && p[pi] == '*') ++pi;
            if (pi == p.size()) return true;
            for (size_t k = ni; k <= n.size(); ++k)
                if (match_from(p, pi, n, k)) return true;
            return false;
        }
        if (ni >= n.size()) return false;
        if (c == '?') {
            ++pi, ++ni;
        } else if (c == '[') {
            bool m = false;
            size_t next = match_class(p, pi + 1, n[ni], m);
            if (next == std::string_view::npos || !m) return false;
            pi = next, ++ni;
        } else {
            if (c == '\\' && pi + 1 < p.size()) c = p[++pi];
            if (c != n[ni]) return false;
            ++pi, ++ni;
        }
    }
    return ni == n.size();
}

}  // namespace

bool match_component(std::string_view pattern, std::string_view name) { return match_from(pattern, 0, name, 0); }

bool has_glob(std::string_view p) { return p.find_first_of("*?[\\") != std::string_view::npos; }

std::string clean_rel(std::string_view p) {
    std::vector<std::string> out;
    for (auto& c : split_path(p)) {
        if (c == ".") continue;
        if (c == "..") {
            if (!out.empty()) out.pop_back();
            continue;
        }
        out.push_back(c);
    }
    return str::join(out, "/");
}

IgnoreRules::IgnoreRules(std::string_view text) {
    for (auto& raw : str::split(text, '\n')) {
        std::string_view l = str::trim(raw);
        if (l.empty() || l[0] == '#') continue;
        Pattern p;
        if (l[0] == '!') {
            p.negate = true;
            l = str::trim(l.substr(1));
            has_exceptions_ = true;
        }
        p.text = clean_rel(l);
        if (p.text.empty()) continue;
        p.parts = split_path(p.text);
        patterns_.push_back(std::move(p));
    }
}

bool IgnoreRules::match(const Pattern& p, const std::vector<std::string>& path, size_t pi, size_t si) {
    if (pi == p.parts.size()) return si == path.size();
    if (p.parts[pi] == "**") {
        for (size_t k = si; k <= path.size(); ++k)
            if (match(p, path, pi + 1, k)) return true;
        return false;
    }
    if (si == path.size()) return false;
    return match_component(p.parts[pi], path[si]) && match(p, path, pi + 1, si + 1);
}

bool IgnoreRules::excluded(std::string_view rel) const {
    auto parts = split_path(rel);
    bool ex = false;
    for (auto& p : patterns_) {
        // The pattern matches the path or one of its parent directories.
        bool m = false;
        for (size_t n = parts.size(); n >= 1 && !m; --n) {
            std::vector<std::string> prefix(parts.begin(), parts.begin() + static_cast<long>(n));
            m = match(p, prefix, 0, 0);
        }
        if (m) ex = !p.negate;
    }
    return ex;
}

namespace {

void walk(int dfd, const std::string& prefix, const IgnoreRules& rules, std::vector<Entry>& out) {
    for (auto& name : sys::list_dir_at(dfd)) {
        std::string rel = prefix.empty() ? name : prefix + "/" + name;
        struct stat st;
        if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("fstatat", rel);
        bool ex = rules.excluded(rel);
        Entry e{rel, S_ISDIR(st.st_mode) ? Entry::dir : S_ISREG(st.st_mode) ? Entry::file : S_ISLNK(st.st_mode) ? Entry::symlink : Entry::other};
        if (!ex) out.push_back(e);
        if (e.type == Entry::dir && (!ex || rules.has_exceptions())) {
            sys::unique_fd sub(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
            if (!sub) sys::throw_errno("openat", rel);
            walk(sub.get(), rel, rules, out);
        }
    }
}

}  // namespace

std::vector<Entry> list_tree_fd(int rootfd, const IgnoreRules& rules) {
    std::vector<Entry> out;
    walk(rootfd, "", rules, out);
    return out;
}

std::vector<Entry> list_tree(const std::filesystem::path& root, const IgnoreRules& rules) {
    auto fd = sys::open_path(root, O_RDONLY | O_DIRECTORY);
    return list_tree_fd(fd.get(), rules);
}

Expansion expand_source(const std::vector<Entry>& listing, std::string_view source) {
    Expansion ex;
    std::string s = clean_rel(source);
    auto add_contents = [&](const std::string& dir) {
        std::string pre = dir.empty() ? "" : dir + "/";
        for (auto& e : listing)
            if (e.path.size() > pre.size() && e.path.compare(0, pre.size(), pre) == 0) ex.items.push_back({e.path, e.path.substr(pre.size()), e.type});
    };
    if (s.empty()) {
        ex.multiple = true;
        add_contents("");
        return ex;
    }
    if (has_glob(s)) {
        auto parts = split_path(s);
        int matched = 0;
        for (auto& e : listing) {
            auto ep = split_path(e.path);
            if (ep.size() != parts.size()) continue;
            bool ok = true;
            for (size_t i = 0; i < ep.size() && ok; ++i) ok = match_component(parts[i], ep[i]);
            if (!ok) continue;
            ++matched;
            if (e.type == Entry::dir) ex.multiple = true, add_contents(e.path);
            else ex.items.push_back({e.path, ep.back(), e.type, true});
        }
        if (matched > 1) ex.multiple = true;
        return ex;
    }
    for (auto& e : listing) {
        if (e.path != s) continue;
        if (e.type == Entry::dir) {
            ex.multiple = true;
            add_contents(e.path);
            // An empty directory still counts as found: the destination directory is created.
            if (ex.items.empty()) ex.items.push_back({e.path, "", Entry::dir});
        } else {
            auto slash = e.path.rfind('/');
            ex.items.push_back({e.path, slash == std::string::npos ? e.path : e.path.substr(slash + 1), e.type, true});
        }
        break;
    }
    return ex;
}

void keep_parents(std::vector<CopyItem>& items, std::string_view source) {
    std::string pivot;
    std::string src(source);
    if (src.rfind("./", 0) != 0) src = "./" + src;
    if (auto p = src.find("/./", 1); p != std::string::npos) pivot = clean_rel(src.substr(0, p));
    std::string pre = pivot.empty() ? "" : pivot + "/";
    for (auto& it : items) {
        std::string d = it.src;
        if (!pre.empty() && d.compare(0, pre.size(), pre) == 0) d = d.substr(pre.size());
        else if (d == pivot) d = "";
        it.dst = d;
    }
}

void exclude_items(std::vector<CopyItem>& items, const std::vector<std::string>& patterns) {
    if (patterns.empty()) return;
    std::string text;
    for (auto& p : patterns) text += p + "\n";
    IgnoreRules rules(text);
    std::vector<CopyItem> kept;
    for (auto& it : items) {
        auto base = it.src.substr(it.src.rfind('/') == std::string::npos ? 0 : it.src.rfind('/') + 1);
        std::string rel = it.dst.empty() ? base : it.dst;
        if (rules.excluded(rel) || rules.excluded(it.src)) continue;
        kept.push_back(it);
    }
    items = std::move(kept);
}

std::string hash_items(int rootfd, const std::vector<CopyItem>& items) {
    sys::Sha256 h;
    std::vector<char> buf(256 * 1024);
    for (auto& it : items) {
        struct stat st;
        if (::fstatat(rootfd, it.src.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) sys::throw_errno("fstatat", it.src);
        sys::unique_fd f;
        if (S_ISLNK(st.st_mode) && it.follow) {
            // Copied as what it points to (in the root): hash that file's content too.
            f = sys::open_in_root_if_exists(rootfd, it.src, O_RDONLY | O_NONBLOCK);
            struct stat t;
            if (f && ::fstat(f.get(), &t) == 0 && S_ISREG(t.st_mode)) st = t;
            else f.reset();
        }
        std::string head = it.src;
        head += '\0';
        head += it.dst;
        head += '\0';
        head += std::to_string(st.st_mode);
        head += '\0';
        h.update(head);
        if (S_ISREG(st.st_mode)) {
            if (!f) f = sys::unique_fd(::openat(rootfd, it.src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
            if (!f) sys::throw_errno("openat", it.src);
            for (;;) {
                ssize_t n = sys::retry_eintr([&] { return ::read(f.get(), buf.data(), buf.size()); });
                if (n < 0) sys::throw_errno("read", it.src);
                if (n == 0) break;
                h.update(std::string_view(buf.data(), static_cast<size_t>(n)));
            }
        } else if (S_ISLNK(st.st_mode)) {
            char t[4096];
            ssize_t n = ::readlinkat(rootfd, it.src.c_str(), t, sizeof t);
            if (n < 0) sys::throw_errno("readlinkat", it.src);
            h.update(std::string_view(t, static_cast<size_t>(n)));
        }
        h.update(std::string_view("\n", 1));
    }
    return h.hex_digest();
}

}  // namespace berth::build
