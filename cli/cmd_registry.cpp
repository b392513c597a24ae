// berth pull, push, login, logout, search (and `image pull|push`): the registry commands, with
// Docker's flags, output and messages.
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "cli/cmd_image.hpp"
#include "cli/image_pull.hpp"
#include "cli/output.hpp"
#include "registry/auth.hpp"
#include "registry/client.hpp"
#include "registry/docker_config.hpp"
#include "registry/endpoint.hpp"
#include "registry/pull.hpp"
#include "registry/push.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/json.hpp"
#include "sys/strings.hpp"

namespace berth::cli {
namespace {

// ---- pull ----------------------------------------------------------------------------------

void add_pull_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        std::string platform, name;
        bool all = false, quiet = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("pull", "Download an image from a registry");
    cmd->add_flag("-a,--all-tags", o->all, "Download all tagged images in the repository");
    cmd->add_option("--platform", o->platform, "Set platform if server is multi-platform capable");
    cmd->add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
    cmd->add_option("name", o->name, "NAME[:TAG|@DIGEST]")->required();
    cmd->callback([o, &ctx] {
        PullInterrupts interrupts;
        PullDisplay how;
        how.quiet = o->quiet;
        how.cancel = interrupts.flag();
        how.platform = platform_flag(o->platform);
        auto given = images::parse_reference(o->name, false);
        auto store = open_image_store(ctx);
        if (!o->all) {
            pull_image(store, o->name, how);
            return;
        }
        if (given.has_tag() || given.has_digest())
            throw_error(Errc::invalid, "tag can't be used with --all-tags/-a");
        auto tags = registry::list_tags(given);
        if (tags.empty()) throw_error(Errc::not_found, "no tags in " + given.familiar_repository());
        how.print_reference = false;
        for (auto& t : tags) {
            auto r = given;
            r.tag = t;
            pull_image(store, r.str(), how);
        }
        std::cout << given.repository() << "\n";
    });
}

// ---- push ----------------------------------------------------------------------------------

void add_push_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        std::string name;
        bool all = false, quiet = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("push", "Upload an image to a registry");
    cmd->add_flag("-a,--all-tags", o->all, "Push all tags of an image to the repository");
    cmd->add_flag("-q,--quiet", o->quiet, "Suppress verbose output");
    cmd->add_option("name", o->name, "NAME[:TAG]")->required();
    cmd->callback([o, &ctx] {
        auto given = images::parse_reference(o->name, false);
        if (given.has_digest()) throw_error(Errc::invalid, "cannot push a digest reference");
        if (o->all && given.has_tag()) throw_error(Errc::invalid, "tag can't be used with --all-tags/-a");
        auto store = open_image_store(ctx);
        std::vector<images::Reference> refs;
        if (o->all) {
            for (auto& img : store.list())
                for (auto& t : img.tags)
                    if (t.domain == given.domain && t.path == given.path) refs.push_back(t);
            if (refs.empty())
                throw_error(Errc::not_found, "An image does not exist locally with the tag: " + given.familiar_repository());
            std::sort(refs.begin(), refs.end(), [](auto& a, auto& b) { return a.tag < b.tag; });
        } else {
            if (!given.has_tag()) {
                if (!o->quiet) std::cout << "Using default tag: latest\n";
                given.tag = "latest";
            }
            refs.push_back(given);
        }
        bool tty = ::isatty(STDOUT_FILENO);
        for (auto& r : refs) {
            registry::PushOptions po;
            if (!o->quiet)
                po.progress = [tty](const registry::Progress& p) {
                    if (p.id.empty())
                        std::cout << p.status << "\n";
                    else if (tty || p.status != "Pushing")
                        std::cout << p.id << ": " << p.status << "\n";
                    std::cout.flush();
                };
            registry::push(store, r, po);
            if (o->quiet) std::cout << r.str() << "\n";
        }
    });
}

// ---- login / logout ------------------------------------------------------------------------

// The registry a login/logout argument names: "" -> Docker Hub; URLs ("https://host:5000/v2/")
// are reduced to host[:port].
std::string server_domain(std::string s) {
    if (s.empty()) return "docker.io";
    if (auto p = s.find("://"); p != std::string::npos) s = s.substr(p + 3);
    if (auto p = s.find('/'); p != std::string::npos) s = s.substr(0, p);
    s = str::to_lower(s);
    if (s == "index.docker.io" || s == "registry-1.docker.io" || s == "docker.io" || s == "registry.hub.docker.com")
        return "docker.io";
    if (s.empty() || !images::valid_domain(s)) throw_error(Errc::invalid, "invalid registry \"" + s + "\"");
    return s;
}

std::string read_line_no_echo(const std::string& prompt) {
    std::cerr << prompt;
    std::cerr.flush();
    termios old{};
    bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        termios t = old;
        t.c_lflag &= ~tcflag_t(ECHO);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
    }
    std::string line;
    std::getline(std::cin, line);
    if (tty) {
        ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
        std::cerr << "\n";
    }
    return line;
}

void add_login_command(CLI::App* parent) {
    struct Opts {
        std::string username, password, server;
        bool password_stdin = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("login", "Authenticate to a registry");
    cmd->add_option("-u,--username", o->username, "Username");
    cmd->add_option("-p,--password", o->password, "Password or Personal Access Token (PAT)");
    cmd->add_flag("--password-stdin", o->password_stdin, "Take the Password or Personal Access Token (PAT) from stdin");
    cmd->add_option("server", o->server, "SERVER (default: Docker Hub)");
    cmd->callback([o, cmd] {
        bool has_p = cmd->count("--password") > 0;
        if (has_p && o->password_stdin) throw_error(Errc::invalid, "--password and --password-stdin are mutually exclusive");
        if (o->password_stdin && o->username.empty()) throw_error(Errc::invalid, "Must provide --username with --password-stdin");
        if (has_p) std::cerr << "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n";
        auto domain = server_domain(o->server);
        auto ep = registry::endpoint_for(domain);
        std::string shown = registry::auth_key(domain);

        // No new credentials given: try the stored ones first, as Docker does.
        if (o->username.empty() && !has_p && !o->password_stdin) {
            if (auto old = registry::load_auth(domain)) {
                try {
                    registry::Client(ep, {}, *old).check_login();
                    std::cout << "Authenticating with existing credentials...\nLogin Succeeded\n";
                    return;
                } catch (const registry::RegistryError& e) {
                    if (e.status() != 401) throw;
                }
            }
            if (!::isatty(STDIN_FILENO)) throw_error(Errc::invalid, "Cannot perform an interactive login from a non TTY device");
            std::cerr << "Username: ";
            std::getline(std::cin, o->username);
            o->username = std::string(str::trim(o->username));
        }
        if (o->username.empty()) throw_error(Errc::invalid, "Username is required");
        registry::AuthEntry a;
        a.username = o->username;
        if (o->password_stdin) {
            a.password = sys::read_fd(STDIN_FILENO);
            while (!a.password.empty() && (a.password.back() == '\n' || a.password.back() == '\r')) a.password.pop_back();
        } else if (has_p) {
            a.password = o->password;
        } else {
            if (!::isatty(STDIN_FILENO)) throw_error(Errc::invalid, "Cannot perform an interactive login from a non TTY device");
            a.password = read_line_no_echo("Password: ");
        }
        if (a.password.empty()) throw_error(Errc::invalid, "Password is required");
        with_context("login to " + shown, [&] { registry::Client(ep, {}, a).check_login(); });
        registry::store_auth(domain, a);
        std::cerr << "WARNING! Your password will be stored unencrypted in "
                  << (registry::docker_config_dir() / "config.json").string() << ".\n";
        std::cout << "Login Succeeded\n";
    });
}

void add_logout_command(CLI::App* parent) {
    auto server = std::make_shared<std::string>();
    auto* cmd = parent->add_subcommand("logout", "Log out from a registry");
    cmd->add_option("server", *server, "SERVER (default: Docker Hub)");
    cmd->callback([server] {
        auto domain = server_domain(*server);
        std::string shown = registry::auth_key(domain);
        if (!registry::erase_auth(domain)) {
            std::cout << "Not logged in to " << shown << "\n";
            return;
        }
        std::cout << "Removing login credentials for " << shown << "\n";
    });
}

// ---- search --------------------------------------------------------------------------------

void add_search_command(CLI::App* parent) {
    struct Opts {
        std::string term, format;
        int limit = 25;
        bool no_trunc = false;
        std::vector<std::string> filters;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("search", "Search a registry for images");
    cmd->add_option("-f,--filter", o->filters, "Filter output based on conditions provided (is-official=true, stars=N)");
    add_format_flag(cmd, o->format);
    cmd->add_option("--limit", o->limit, "Max number of search results");
    cmd->add_flag("--no-trunc", o->no_trunc, "Don't truncate output");
    cmd->add_option("term", o->term, "TERM")->required();
    cmd->callback([o] {
        if (o->limit < 1 || o->limit > 100) throw_error(Errc::invalid, "limit " + std::to_string(o->limit) + " is outside the range of [1, 100]");
        std::optional<bool> official;
        int min_stars = 0;
        for (auto& f : o->filters) {
            auto [k, v] = str::split_once(f, '=');
            if (k == "is-official" && v) official = *v == "true" || *v == "1";
            else if (k == "stars" && v && str::parse_int(*v)) min_stars = int(*str::parse_int(*v));
            else throw_error(Errc::invalid, "invalid filter '" + f + "'");
        }
        // "host:5000/term" searches that registry's catalog; a plain term searches Docker Hub.
        std::string domain = "docker.io", term = o->term;
        if (auto slash = term.find('/'); slash != std::string::npos) {
            auto first = term.substr(0, slash);
            if (first.find_first_of(".:") != std::string::npos || first == "localhost") {
                domain = first;
                term = term.substr(slash + 1);
            }
        }
        std::vector<ojson> items;
        auto ep = registry::endpoint_for(domain);
        if (domain == "docker.io") {
            ep.host = "index.docker.io";
            registry::Client client(ep, {});
            registry::Request r;
            r.target = "/v1/search?q=" + registry::url_escape(term) + "&n=" + std::to_string(o->limit);
            auto resp = client.request(r);
            if (resp.status != 200) registry::throw_response(resp, "searching Docker Hub");
            auto j = json::parse(resp.body, nullptr, false);
            if (!j.is_object() || !j.contains("results") || !j["results"].is_array())
                throw_error(Errc::corrupt, "Docker Hub's search answer is not what was expected");
            for (auto& x : j["results"]) {
                if (!x.is_object()) continue;
                bool off = x.value("is_official", false);
                int stars = x.value("star_count", 0);
                if ((official && off != *official) || stars < min_stars) continue;
                std::string desc = x.value("description", "");
                if (!o->no_trunc && desc.size() > 45) desc = desc.substr(0, 42) + "...";
                items.push_back(ojson{{"Name", x.value("name", "")}, {"Description", desc}, {"StarCount", std::to_string(stars)},
                                      {"IsOfficial", off ? "[OK]" : ""}});
            }
        } else {
            // A private registry has no search API; its catalog lists every repository.
            registry::Client client(ep, {"registry:catalog:*"});
            std::string target = "/v2/_catalog?n=1000";
            for (int page = 0; page < 100 && !target.empty(); ++page) {
                registry::Request r;
                r.target = target;
                auto resp = client.request(r);
                if (resp.status != 200) registry::throw_response(resp, "listing the catalog of " + domain);
                auto j = json::parse(resp.body, nullptr, false);
                if (!j.is_object()) throw_error(Errc::corrupt, "the catalog of " + domain + " is not valid JSON");
                if (j.contains("repositories") && j["repositories"].is_array())
                    for (auto& n : j["repositories"])
                        if (n.is_string() && str::contains(n.get<std::string>(), term) && !official.value_or(false) && min_stars <= 0)
                            items.push_back(ojson{{"Name", domain + "/" + n.get<std::string>()}, {"Description", ""},
                                                  {"StarCount", "0"}, {"IsOfficial", ""}});
                target.clear();
                auto link = resp.header("Link");
                if (auto a = link.find('<'), b = link.find('>');
                    a != std::string::npos && b != std::string::npos && b > a && str::contains(link, "rel=\"next\""))
                    target = link.substr(a + 1, b - a - 1);
            }
            if (items.size() > size_t(o->limit)) items.resize(size_t(o->limit));
        }
        ListFormat spec;
        spec.default_table = "table {{.Name}}\t{{.Description}}\t{{.StarCount}}\t{{.IsOfficial}}";
        spec.headers = ojson{{"Name", "NAME"}, {"Description", "DESCRIPTION"}, {"StarCount", "STARS"}, {"IsOfficial", "OFFICIAL"}};
        print_list(items, o->format, spec);
    });
}

Registrar reg(33, {"pull", "push", "login", "logout", "search", "image"}, [](CLI::App& app, Context& ctx) {
    auto* image = image_group(app);
    add_pull_command(&app, ctx);
    add_pull_command(image, ctx);
    add_push_command(&app, ctx);
    add_push_command(image, ctx);
    add_login_command(&app);
    add_logout_command(&app);
    add_search_command(&app);
});

}  // namespace
}  // namespace berth::cli
