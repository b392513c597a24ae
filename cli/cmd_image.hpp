#pragma once
// Shared by the image command files (cmd_image.cpp, cmd_image_io.cpp).
#include <cstdint>
#include <string>

#include "cli/cli.hpp"
#include "images/store.hpp"

namespace berth::cli {

// `berth image`: the group the image subcommands hang off (created on first use).
CLI::App* image_group(CLI::App& app);

images::Store open_image_store(Context& ctx);

// Which images containers use (image ID -> container ID), read from each container's
// config.json ("Image": "sha256:..."), for rmi and image prune.
images::InUse images_in_use(const store::Paths& paths);

// Docker's "5 minutes ago" (HumanDuration + " ago"); "N/A" when unknown.
std::string created_since(std::int64_t ns);
// Go's time.Time.String() in local time: "2006-01-02 15:04:05 -0700 MST".
std::string go_time_string(std::int64_t ns);
// RFC 3339 in local time, as Go's time.RFC3339: "2006-01-02T15:04:05-07:00" or "...Z".
std::string rfc3339_local(std::int64_t ns);
// go-units HumanSizeWithPrecision: "4.26MB" (3) / "4.262MB" (4), decimal units.
std::string human_size(double bytes, int precision);

}  // namespace berth::cli
