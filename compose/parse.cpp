#include "compose/parse.hpp"

#include <yaml-cpp/yaml.h>

#include <string>

namespace berth::compose {
namespace {

// Alias expansion can blow a small file up exponentially ("billion laughs"); refuse beyond this.
constexpr size_t kMaxNodes = 1'000'000;
constexpr int kMaxDepth = 256;

bool null_text(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }

class Converter {
public:
    Converter(std::shared_ptr<const std::string> file, Problems& problems) : file_(std::move(file)), problems_(problems) {}

    Node convert(const YAML::Node& y, const std::string& path, int depth, const Pos* fallback = nullptr) {
        if (++count_ > kMaxNodes || depth > kMaxDepth) {
            if (!too_big_) problems_.add(pos_of(y), path, "document too large or too deeply nested (alias expansion?)");
            too_big_ = true;
            return Node::null(pos_of(y));
        }
        Pos pos = pos_of(y);
        if (fallback && y.IsNull()) pos = *fallback;
        std::string tag = y.Tag();
        std::string keep_tag;
        if (tag == "!reset" || tag == "!override") {
            keep_tag = tag;
        } else if (!tag.empty() && tag != "?" && tag != "!" && tag.rfind("tag:yaml.org,2002:", 0) != 0) {
            problems_.add(pos, path, "unsupported YAML tag " + tag);
        }
        Node out;
        switch (y.Type()) {
            case YAML::NodeType::Undefined:
            case YAML::NodeType::Null:
                out = Node::null(pos);
                break;
            case YAML::NodeType::Scalar:
                if (!keep_tag.empty() && null_text(y.Scalar())) out = Node::null(pos);
                else out = Node::scalar(y.Scalar(), pos, tag == "?");
                break;
            case YAML::NodeType::Sequence: {
                out = Node::sequence(pos);
                size_t i = 0;
                for (auto it = y.begin(); it != y.end(); ++it, ++i)
                    out.items.push_back(convert(*it, path_index(path, i), depth + 1));
                break;
            }
            case YAML::NodeType::Map:
                out = convert_map(y, pos, path, depth);
                break;
        }
        out.tag = keep_tag;
        return out;
    }

private:
    Pos pos_of(const YAML::Node& y) const {
        auto m = y.Mark();
        if (m.is_null()) return Pos{file_, 0, 0};
        return Pos{file_, m.line + 1, m.column + 1};
    }

    Node convert_map(const YAML::Node& y, const Pos& pos, const std::string& path, int depth) {
        Node out = Node::mapping(pos);
        std::vector<std::pair<Pos, YAML::Node>> merges;
        for (auto it = y.begin(); it != y.end(); ++it) {
            Pos kpos = pos_of(it->first);
            if (!it->first.IsScalar()) {
                problems_.add(kpos, path, "mapping keys must be strings");
                continue;
            }
            std::string key = it->first.Scalar();
            if (key == "<<" && it->first.Tag() == "?") {
                merges.emplace_back(kpos, it->second);
                continue;
            }
            if (auto* prev = out.find_entry(key)) {
                problems_.add(kpos, path, "mapping key \"" + key + "\" already defined at line " +
                                              std::to_string(prev->key_pos.line));
                continue;
            }
            Node v = convert(it->second, path_join(path, key), depth + 1, &kpos);
            out.entries.push_back(Entry{std::move(key), kpos, std::move(v)});
        }
        // YAML merge keys (https://yaml.org/type/merge.html): keys written in the mapping win,
        // then the merged mappings in order, the first one that has a key winning.
        for (auto& [kpos, src] : merges) {
            std::vector<YAML::Node> sources;
            if (src.IsMap()) {
                sources.push_back(src);
            } else if (src.IsSequence()) {
                for (auto it = src.begin(); it != src.end(); ++it) sources.push_back(*it);
            }
            bool ok = !sources.empty();
            for (auto& s : sources) ok = ok && s.IsMap();
            if (!ok) {
                problems_.add(kpos, path, "merge key \"<<\" needs a mapping or a list of mappings");
                continue;
            }
            for (auto& s : sources) {
                Node m = convert_map(s, pos_of(s), path, depth + 1);
                for (auto& e : m.entries)
                    if (!out.find_entry(e.key)) out.entries.push_back(std::move(e));
            }
        }
        return out;
    }

    std::shared_ptr<const std::string> file_;
    Problems& problems_;
    size_t count_ = 0;
    bool too_big_ = false;
};

}  // namespace

std::vector<Node> parse_yaml(std::string_view text, std::shared_ptr<const std::string> file, Problems& problems) {
    std::vector<YAML::Node> docs;
    try {
        docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
        Pos pos{file, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1};
        problems.add(pos, "", "invalid YAML: " + e.msg);
        return {};
    }
    std::vector<Node> out;
    Converter conv(file, problems);
    for (auto& d : docs) out.push_back(conv.convert(d, "", 0));
    return out;
}

}  // namespace berth::compose
