// What the docker orchestrator creates for a playground: names, labels and
// the container configuration (POST /containers/create body). Separate from
// the orchestrator so tests can check the security settings and start probe
// containers with exactly the same configuration.
#pragma once

#include <string>
#include <string_view>

#include "common/json.h"
#include "orchestrator/docker/docker_orchestrator.h"

namespace pg::orchestrator::docker {

inline constexpr std::string_view kLabelId = "io.playground.id";
inline constexpr std::string_view kLabelRole = "io.playground.role";  // workspace | runner | seed
inline constexpr std::string_view kLabelManaged = "io.playground.managed";  // "true"
// The hub (data dir) a resource belongs to: several hubs (tests, benches)
// may share one engine, and each reconciles only its own resources.
inline constexpr std::string_view kLabelHub = "io.playground.hub";

// The unprivileged uid (and gid) both containers of playground `id` run as
// and that owns its volume's files: one of its own per playground, derived
// from the id (200000 + hash % 800000, as the local orchestrator), so that
// RLIMIT_NPROC, which counts per uid host-wide, is per playground and one
// playground's processes cannot signal another's. No entry in the images'
// /etc/passwd is needed (HOME is /tmp).
int ContainerUid(const std::string& id);
// Restart policy of crashed containers: on-failure, at most this many times.
inline constexpr int kMaxRestarts = 5;

// Preconditions for all: IsValidPlaygroundId(id).
std::string VolumeName(const std::string& id);                              // playground-<id>
std::string ContainerName(const std::string& id, std::string_view role);   // playground-<id>-<role>
// The value of kLabelHub for `config`: a hash of its data dir.
std::string HubLabel(const DockerConfig& config);
// The labels every resource of playground `id` carries (role: "" for none).
json::object Labels(const DockerConfig& config, const std::string& id, std::string_view role);
// <data-dir>/run/<id>: bind-mounted at /run/playground, holds the sockets.
std::string RunDir(const DockerConfig& config, const std::string& id);
// <data-dir>/volumes/<id>: the host side of the volume. The mount point of
// the playground's own ext4 file system (<data-dir>/volumes/<id>.ext4 on a
// loop device, limits.disk_mb), or a plain directory where loop devices
// cannot be used. It holds `workspace/` (VolumeDataDir) and the marker
// `seeded`, out of the containers' reach.
std::string VolumeDir(const DockerConfig& config, const std::string& id);
// VolumeDir + "/workspace": the device of the named volume (driver local,
// type none, o bind), mounted at /workspace in both containers.
std::string VolumeDataDir(const DockerConfig& config, const std::string& id);
// The POST /volumes/create body of playground `id`: name, labels, and the
// bind of VolumeDataDir.
json::object VolumeConfig(const DockerConfig& config, const std::string& id);

// The create body of container `role` ("workspace" or "runner"): image,
// command, labels, limits from spec.limits, read-only root, cap-drop ALL,
// no-new-privileges, default seccomp, NetworkMode none, user ContainerUid(id),
// volume at /workspace, RunDir at /run/playground, restart on-failure.
json::object ContainerConfig(const DockerConfig& config, const PlaygroundSpec& spec, std::string_view role);

}  // namespace pg::orchestrator::docker
