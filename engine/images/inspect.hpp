#pragma once
// Images as Docker's API shows them (`docker image inspect`), for the CLI and any later API.
#include "images/store.hpp"
#include "sys/json.hpp"

namespace berth::images {

// The "Config" object: Docker's container-config field names and order, null for unset lists.
ojson docker_config(const ImageConfig& c);

// One element of `image inspect`: Id, RepoTags, RepoDigests, Parent, Comment, Created,
// DockerVersion, Author, Config, Architecture, Variant, Os, OsVersion, Size, GraphDriver,
// RootFS, Metadata.
ojson inspect(const Store& store, const Image& img);

}  // namespace berth::images
