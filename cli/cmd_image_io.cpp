// berth import, save, load (and their `berth image ...` forms): images in and out of the store
// as tarballs, with Docker's flags and messages.
#include <fcntl.h>
#include <unistd.h>

#include <iostream>

#include "cli/cmd_image.hpp"
#include "sys/error.hpp"
#include "sys/fs.hpp"
#include "sys/random.hpp"
#include "sys/strings.hpp"

namespace berth::cli {
namespace {

// ---- import --------------------------------------------------------------------------------

void add_import_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        std::vector<std::string> changes;
        std::string message, platform, file, reference;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("import", "Import the contents from a tarball to create a filesystem image");
    cmd->add_option("-c,--change", o->changes, "Apply Dockerfile instruction to the created image")->allow_extra_args(false);
    cmd->add_option("-m,--message", o->message, "Set commit message for imported image");
    cmd->add_option("--platform", o->platform, "Set platform if server is multi-platform capable (os/arch)");
    cmd->add_option("file", o->file, "file|- (a tarball: plain, gzip or zstd)")->required();
    cmd->add_option("reference", o->reference, "REPOSITORY[:TAG]");
    cmd->callback([o, &ctx] {
        images::NewImageOptions opts;
        opts.changes = o->changes;
        opts.comment = o->message;
        if (!o->reference.empty()) {
            auto ref = images::parse_reference(o->reference);
            if (ref.has_digest()) throw_error(Errc::invalid, "refusing to create a tag with a digest reference");
            opts.tag = ref;
        }
        if (!o->platform.empty()) {
            auto parts = str::split(o->platform, '/');
            if (parts.size() < 2 || parts[0] != "linux" || parts[1].empty())
                throw_error(Errc::invalid, "invalid platform \"" + o->platform + "\": berth imports linux/<arch> images");
            opts.platform_os = parts[0];
            opts.platform_arch = parts[1];
        }
        if (o->file.rfind("http://", 0) == 0 || o->file.rfind("https://", 0) == 0)
            throw_error(Errc::unsupported, "importing from a URL is not supported; download " + o->file + " first");
        auto store = open_image_store(ctx);
        images::Image img;
        if (o->file == "-") {
            images::FdSource in(STDIN_FILENO, "stdin");
            img = store.import_rootfs(in, opts);
        } else {
            auto fd = sys::open_path(o->file, O_RDONLY);
            images::FdSource in(fd.get(), o->file);
            img = store.import_rootfs(in, opts);
        }
        std::cout << img.id << "\n";
    });
}

// ---- save ----------------------------------------------------------------------------------

void add_save_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        std::string output;
        std::vector<std::string> names;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("save", "Save one or more images to a tar archive (streamed to STDOUT by default)");
    cmd->add_option("-o,--output", o->output, "Write to a file, instead of STDOUT");
    cmd->add_option("images", o->names, "IMAGE")->required();
    cmd->callback([o, &ctx] {
        auto store = open_image_store(ctx);
        if (o->output.empty()) {
            if (::isatty(STDOUT_FILENO))
                throw_error(Errc::invalid, "cowardly refusing to save to a terminal. Use the -o flag or redirect");
            store.save(o->names, STDOUT_FILENO);
            return;
        }
        // Into a temp file beside the output, renamed on success: a failed save leaves no
        // partial archive behind (nor clobbers an existing one).
        std::filesystem::path out = o->output;
        auto tmp = out;
        tmp += ".berth-" + sys::random_hex(8);
        auto fd = sys::open_path(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
        try {
            store.save(o->names, fd.get());
            if (::fsync(fd.get()) < 0) sys::throw_errno("fsync", tmp.string());
            fd.reset();
            if (::rename(tmp.c_str(), out.c_str()) < 0) sys::throw_errno("rename", tmp.string() + " -> " + out.string());
        } catch (...) {
            ::unlink(tmp.c_str());
            throw;
        }
    });
}

// ---- load ----------------------------------------------------------------------------------

void add_load_command(CLI::App* parent, Context& ctx) {
    struct Opts {
        std::string input;
        bool quiet = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = parent->add_subcommand("load", "Load an image from a tar archive or STDIN");
    cmd->add_option("-i,--input", o->input, "Read from tar archive file, instead of STDIN");
    cmd->add_flag("-q,--quiet", o->quiet, "Suppress the load output");
    cmd->callback([o, &ctx] {
        auto store = open_image_store(ctx);
        std::vector<images::LoadedImage> loaded;
        if (o->input.empty()) {
            if (::isatty(STDIN_FILENO)) throw_error(Errc::invalid, "requested load from stdin, but stdin is empty");
            images::FdSource in(STDIN_FILENO, "stdin");
            loaded = store.load(in);
        } else {
            auto fd = sys::open_path(o->input, O_RDONLY);
            images::FdSource in(fd.get(), o->input);
            loaded = store.load(in);
        }
        // -q only silences progress, which berth does not print; the result lines stay (as Docker).
        for (auto& l : loaded) {
            for (auto& [tag, old] : l.replaced)
                std::cout << "The image " << tag << " already exists, renaming the old one with ID " << old
                          << " to empty string\n";
            for (auto& t : l.tags) std::cout << "Loaded image: " << t << "\n";
            if (l.tags.empty()) std::cout << "Loaded image ID: " << l.id << "\n";
        }
    });
}

Registrar reg(31, {"import", "save", "load", "image"}, [](CLI::App& app, Context& ctx) {
    auto* image = image_group(app);
    add_import_command(&app, ctx);
    add_import_command(image, ctx);
    add_save_command(&app, ctx);
    add_save_command(image, ctx);
    add_load_command(&app, ctx);
    add_load_command(image, ctx);
});

}  // namespace
}  // namespace berth::cli
