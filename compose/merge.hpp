#pragma once
// Phase "merge" (PARSING.md; compose-spec 13-merge.md): combining `-f a -f b`, and a service
// with the one it extends. Mappings merge key by key, sequences append, scalars are replaced,
// except where the rule table in merge.cpp says otherwise (command/entrypoint/healthcheck.test
// replace; ports, volumes, secrets, configs, env_file merge by their unique key; sets of strings
// drop duplicates; logging with another driver replaces). `!reset` removes what the earlier
// file set; `!override` replaces it without merging. Both trees must be in canonical form.
#include <string>

#include "compose/node.hpp"

namespace berth::compose {

// Merges `over` into `base`. `path` is base's document path ("" for a whole file,
// "services.web" when merging one service for extends).
void merge_into(Node& base, Node over, const std::string& path);

// After the last merge: drops values still tagged !reset and clears !override tags, so a
// single file can use them too.
void strip_merge_tags(Node& node);

}  // namespace berth::compose
