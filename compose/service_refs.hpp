#pragma once
// The config hash of a service that shares another service's namespaces or volumes, as Docker
// Compose computes it (pkg/compose reconcile.go serviceHashWithResolvedRefs, convergence.go
// resolveServiceReferences): network_mode / ipc / pid "service:x" become "container:<id>" and
// volumes_from "x[:mode]" / "service:x[:mode]" become "<id>" (the id of x's container), and
// "container:name[:mode]" becomes "name", before hashing. So when x's container is replaced,
// even by an earlier run, the next `up` sees the stale reference in its dependents' hash and
// recreates them. A reference that does not resolve (x has no container) is hashed as written:
// it cannot match a stored hash, so the dependent is recreated.
#include <functional>
#include <string>

#include "compose/model.hpp"

namespace berth::compose {

// container_id(x): the id of service x's container the reference joins ("" when there is none).
std::string service_config_hash(const Service& svc, const std::function<std::string(const std::string& service)>& container_id);

// Whether the service's hash depends on resolving references (it shares namespaces or volumes).
bool hash_resolves_refs(const Service& svc);

}  // namespace berth::compose
