#include "orchestrator/docker/docker_spec.h"

#include <algorithm>

#include "common/crypto.h"

namespace pg::orchestrator::docker {

std::string VolumeName(const std::string& id) { return "playground-" + id; }

std::string ContainerName(const std::string& id, std::string_view role) {
  return "playground-" + id + "-" + std::string(role);
}

int ContainerUid(const std::string& id) {
  uint32_t h = 2166136261u;
  for (unsigned char c : id) h = (h ^ c) * 16777619u;
  return static_cast<int>(200000 + (h % 800000));
}

std::string HubLabel(const DockerConfig& config) { return Sha256Hex(config.data_dir).substr(0, 16); }

json::object Labels(const DockerConfig& config, const std::string& id, std::string_view role) {
  json::object labels;
  labels[kLabelId] = id;
  if (!role.empty()) labels[kLabelRole] = role;
  labels[kLabelManaged] = "true";
  labels[kLabelHub] = HubLabel(config);
  return labels;
}

std::string RunDir(const DockerConfig& config, const std::string& id) { return config.data_dir + "/run/" + id; }

std::string VolumeDir(const DockerConfig& config, const std::string& id) { return config.data_dir + "/volumes/" + id; }

std::string VolumeDataDir(const DockerConfig& config, const std::string& id) {
  return VolumeDir(config, id) + "/workspace";
}

json::object VolumeConfig(const DockerConfig& config, const std::string& id) {
  json::object v;
  v["Name"] = VolumeName(id);
  v["Driver"] = "local";
  v["DriverOpts"] = json::object{{"type", "none"}, {"o", "bind"}, {"device", VolumeDataDir(config, id)}};
  v["Labels"] = Labels(config, id, "");
  return v;
}

json::object ContainerConfig(const DockerConfig& config, const PlaygroundSpec& spec, std::string_view role) {
  const bool runner = role == "runner";
  const std::string sock = std::string("unix:/run/playground/") + (runner ? "runner.sock" : "workspace.sock");
  const int64_t memory = std::max<int64_t>(spec.limits.memory_mb, 16) << 20;
  const int64_t cpu_millis = std::max<int64_t>(spec.limits.cpu_millis, 10);
  const int64_t pids = std::max<int64_t>(spec.limits.pids, 16);
  // /tmp is a tmpfs (charged to the container's memory): compilers need room.
  const int64_t tmp_mb = std::clamp<int64_t>(spec.limits.memory_mb / 4, 16, runner ? 256 : 64);

  json::array mounts;
  // NoCopy: the volume holds exactly what CreateVolume seeded.
  mounts.push_back(json::object{{"Type", "volume"},
                                {"Source", VolumeName(spec.id)},
                                {"Target", "/workspace"},
                                {"VolumeOptions", json::object{{"NoCopy", true}}}});
  mounts.push_back(
      json::object{{"Type", "bind"}, {"Source", RunDir(config, spec.id)}, {"Target", "/run/playground"}});

  json::object host;
  host["Memory"] = memory;
  host["MemorySwap"] = memory;  // no swap beyond the memory limit
  host["NanoCpus"] = cpu_millis * 1000000;
  host["PidsLimit"] = pids;
  host["ReadonlyRootfs"] = true;
  host["Privileged"] = false;
  host["CapDrop"] = json::array{"ALL"};
  host["CapAdd"] = json::array{};
  // Leaving "seccomp=" out keeps Docker's default seccomp profile.
  host["SecurityOpt"] = json::array{"no-new-privileges:true"};
  host["NetworkMode"] = "none";
  host["IpcMode"] = "private";
  host["Init"] = true;  // docker-init as pid 1 reaps orphaned run processes
  host["OomScoreAdj"] = 500;
  host["Mounts"] = std::move(mounts);
  host["Tmpfs"] = json::object{{"/tmp", "rw,nosuid,nodev,mode=1777,size=" + std::to_string(tmp_mb) + "m"}};
  host["RestartPolicy"] = json::object{{"Name", "on-failure"}, {"MaximumRetryCount", kMaxRestarts}};
  host["LogConfig"] = json::object{{"Type", "json-file"}, {"Config", json::object{{"max-size", "1m"}, {"max-file", "1"}}}};

  json::object c;
  c["Image"] = runner ? config.runner_image : config.workspace_image;
  c["Entrypoint"] = json::array{"/usr/local/bin/playground"};
  json::array cmd{runner ? "runner-server" : "workspace-server", "--root", "/workspace"};
  // Docker's default seccomp profile refuses the namespaces of a nested
  // sandbox (docs/docker.md): the runner probes and falls back to runs as
  // plain children under rlimits ("contained mode").
  if (runner) cmd.insert(cmd.end(), {"--isolation", "auto"});
  cmd.insert(cmd.end(), {"--listen", sock});
  c["Cmd"] = std::move(cmd);
  const std::string uid = std::to_string(ContainerUid(spec.id));
  c["User"] = uid + ":" + uid;
  c["WorkingDir"] = "/workspace";
  c["Hostname"] = "playground";
  c["Env"] = json::array{"HOME=/tmp", "LANG=C.UTF-8", "PLAYGROUND_CONTAINER=docker", "PLAYGROUND_ID=" + spec.id};
  c["Labels"] = Labels(config, spec.id, role);
  c["NetworkDisabled"] = true;
  c["StopTimeout"] = 3;
  c["HostConfig"] = std::move(host);
  return c;
}

}  // namespace pg::orchestrator::docker
