#include "compose/graph.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "sys/error.hpp"
#include "sys/strings.hpp"

namespace berth::compose {

Graph::Graph(const Project& project) {
    std::set<std::pair<std::string, std::string>> seen;
    auto add = [&](const std::string& from, const std::string& to, const char* kind) {
        if (to.empty() || !seen.insert({from, to}).second) return;
        edges_.push_back(Edge{from, to, kind});
    };
    for (auto& [name, s] : project.services) {
        services_.push_back(name);
        for (auto& [dep, _] : s.depends_on) add(name, dep, "depends_on");
        for (auto [kind, v] : {std::pair{"network_mode", &s.network_mode}, std::pair{"ipc", &s.ipc},
                               std::pair{"pid", &s.pid}, std::pair{"uts", &s.uts}})
            if (v->rfind("service:", 0) == 0) add(name, v->substr(8), kind);
        for (auto& v : s.volumes_from)
            if (v.rfind("container:", 0) != 0) add(name, str::split(v, ':')[0], "volumes_from");
        for (auto& l : s.links) add(name, str::split(l, ':')[0], "links");
    }
    std::sort(edges_.begin(), edges_.end(),
              [](const Edge& a, const Edge& b) { return std::tie(a.from, a.to) < std::tie(b.from, b.to); });
}

std::vector<std::string> Graph::dependencies(const std::string& service) const {
    std::vector<std::string> out;
    for (auto& e : edges_)
        if (e.from == service) out.push_back(e.to);
    return out;
}

std::vector<std::string> Graph::dependents(const std::string& service) const {
    std::vector<std::string> out;
    for (auto& e : edges_)
        if (e.to == service) out.push_back(e.from);
    std::sort(out.begin(), out.end());
    return out;
}

std::optional<std::vector<std::string>> Graph::find_cycle() const {
    enum { white, grey, black };
    std::map<std::string, int> color;
    std::vector<std::string> stack;
    std::optional<std::vector<std::string>> cycle;
    std::function<void(const std::string&)> visit = [&](const std::string& v) {
        color[v] = grey;
        stack.push_back(v);
        for (auto& d : dependencies(v)) {
            if (cycle) return;
            if (color[d] == grey) {
                auto it = std::find(stack.begin(), stack.end(), d);
                cycle = std::vector<std::string>(it, stack.end());
                cycle->push_back(d);
                return;
            }
            if (color[d] == white) visit(d);
        }
        stack.pop_back();
        color[v] = black;
    };
    for (auto& s : services_) {
        if (cycle) break;
        if (color[s] == white) visit(s);
    }
    return cycle;
}

std::vector<std::vector<std::string>> Graph::levels() const {
    if (auto c = find_cycle()) throw_error(Errc::invalid, "dependency cycle detected: " + str::join(*c, " -> "));
    std::map<std::string, int> level;
    std::function<int(const std::string&)> depth = [&](const std::string& v) -> int {
        if (auto it = level.find(v); it != level.end()) return it->second;
        int l = 0;
        for (auto& d : dependencies(v)) l = std::max(l, depth(d) + 1);
        level[v] = l;
        return l;
    };
    std::vector<std::vector<std::string>> out;
    for (auto& s : services_) {
        int l = depth(s);
        if (static_cast<int>(out.size()) <= l) out.resize(static_cast<size_t>(l) + 1);
        out[static_cast<size_t>(l)].push_back(s);
    }
    for (auto& lv : out) std::sort(lv.begin(), lv.end());
    return out;
}

namespace {
std::vector<std::string> closure(const std::vector<std::string>& start,
                                 const std::function<std::vector<std::string>(const std::string&)>& next) {
    std::set<std::string> seen(start.begin(), start.end());
    std::vector<std::string> todo(start.begin(), start.end());
    while (!todo.empty()) {
        auto v = todo.back();
        todo.pop_back();
        for (auto& n : next(v))
            if (seen.insert(n).second) todo.push_back(n);
    }
    return {seen.begin(), seen.end()};
}
}  // namespace

std::vector<std::string> Graph::with_dependencies(const std::vector<std::string>& services) const {
    return closure(services, [this](const std::string& s) { return dependencies(s); });
}

std::vector<std::string> Graph::with_dependents(const std::vector<std::string>& services) const {
    return closure(services, [this](const std::string& s) { return dependents(s); });
}

}  // namespace berth::compose
