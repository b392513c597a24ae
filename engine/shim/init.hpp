#pragma once
// `docker run --init`: berth-shim, bind-mounted at /sbin/docker-init, runs as the container's
// PID 1 like tini: it starts the command, forwards signals to it, reaps every orphan, and
// exits with the command's status (128 + signal when it was killed).
namespace berth::shim {
int run_init(int argc, char** argv);  // argv: ["/sbin/docker-init", "--", cmd, args...]
}
