// The docker orchestrator against a real Docker engine and the real images
// (scripts/start-dockerd.sh, scripts/build-images.sh). Skips, with the
// reason, when the engine or the images are absent. In tests/docker/ so that
// ctest labels it `docker` (the ASan run leaves that label out).
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/crypto.h"
#include "docker_fixture.h"
#include "orchestrator/docker/docker_spec.h"

namespace pg::orchestrator {
namespace {

using boost::beast::http::verb;
using namespace std::chrono_literals;

class DockerTest : public DockerFixture {
 protected:
  void SetUp() override {
    DockerFixture::SetUp();
    if (IsSkipped()) return;
    auto o = MakeDockerOrchestrator(config_);
    ASSERT_TRUE(o.ok()) << o.error().message;
    orch_ = std::move(*o);
  }

  PlaygroundSpec Spec(const std::string& id, const std::string& tmpl = "python") {
    PlaygroundSpec s;
    s.id = id;
    s.template_name = tmpl;
    s.limits.memory_mb = 256;
    s.limits.cpu_millis = 500;
    s.limits.pids = 64;
    s.limits.disk_mb = 64;
    return s;
  }
  // The fixture's TearDown removes every playground of this data dir.
  std::string NewId() { return NewPlaygroundId(); }
  std::vector<std::string> Containers(const std::string& id) { return LabelledContainers(IdLabel(id)); }
  std::vector<std::string> Volumes(const std::string& id) { return LabelledVolumes(IdLabel(id)); }

  // Runs `script` (sh -c) in a container configured exactly like the
  // playground's `role` container, waits for it and returns its output.
  std::string Probe(const PlaygroundSpec& spec, const std::string& role, const std::string& script) {
    MakeRunDir(spec.id);
    json::object c = docker::ContainerConfig(config_, spec, role);
    c["Entrypoint"] = json::array{"/bin/sh", "-c"};
    c["Cmd"] = json::array{script};
    c["HostConfig"].as_object()["RestartPolicy"] = json::object{{"Name", "no"}};
    c["Labels"].as_object()["io.playground.role"] = "probe";
    return RunContainer(docker::ContainerName(spec.id, "probe"), c);
  }
  std::string RunContainer(const std::string& name, const json::object& config) {
    json::value body = config;
    (void)api_.Call(verb::delete_, "/containers/" + name + "?force=1");
    auto created = api_.Json(verb::post, "/containers/create?name=" + name, &body);
    EXPECT_TRUE(created.ok()) << created.error().message;
    if (!created.ok()) return "";
    auto started = api_.Call(verb::post, "/containers/" + name + "/start");
    EXPECT_TRUE(started.ok() && started->status == 204) << (started.ok() ? started->body : started.error().message);
    auto waited = api_.Json(verb::post, "/containers/" + name + "/wait", nullptr, 60s);
    EXPECT_TRUE(waited.ok()) << waited.error().message;
    auto logs = api_.Call(verb::get, "/containers/" + name + "/logs?stdout=1&stderr=1");
    (void)api_.Call(verb::delete_, "/containers/" + name + "?force=1");
    return logs.ok() ? docker::DemuxLogs(logs->body) : "";
  }
  // <data-dir>/run/<id>, owned by the container user, as Start makes it.
  void MakeRunDir(const std::string& id) {
    ::mkdir((dir_.path() + "/run").c_str(), 0755);
    ::mkdir((dir_.path() + "/run/" + id).c_str(), 0700);
    ASSERT_EQ(::chown((dir_.path() + "/run/" + id).c_str(), docker::ContainerUid(id), docker::ContainerUid(id)), 0);
  }
  std::unique_ptr<Orchestrator> orch_;
};

TEST_F(DockerTest, CreateVolumeSeedsTemplateOwnedByContainerUserAndIsIdempotent) {
  std::string id = NewId();
  std::map<std::string, std::string> recorded;
  auto record = [&](const std::string& k, const std::string& v) { recorded[k] = v; };
  ASSERT_TRUE(orch_->CreateVolume(Spec(id), record).ok());
  EXPECT_EQ(recorded["docker.volume"], "playground-" + id);
  auto vol = api_.Json(verb::get, "/volumes/playground-" + id);
  ASSERT_TRUE(vol.ok());
  EXPECT_EQ(vol->at("Labels").at("io.playground.id").as_string(), id);
  EXPECT_EQ(vol->at("Labels").at("io.playground.managed").as_string(), "true");
  EXPECT_EQ(vol->at("Options").at("device").as_string(), docker::VolumeDataDir(config_, id));
  EXPECT_TRUE(Containers(id).empty()) << "seeding needs no container";
  EXPECT_NE(recorded["quota"].find("ext4 image"), std::string::npos) << recorded["quota"];

  std::string out = Probe(Spec(id), "workspace",
                          "stat -c '%u:%g %n' /workspace /workspace/main.py; cat /workspace/main.py;"
                          "ls -A /workspace | tr '\\n' ' '; echo; echo mine > /workspace/main.py && echo writable");
  const std::string owner = std::to_string(docker::ContainerUid(id)) + ":" + std::to_string(docker::ContainerUid(id));
  EXPECT_NE(out.find(owner + " /workspace\n"), std::string::npos) << out;
  EXPECT_NE(out.find(owner + " /workspace/main.py"), std::string::npos) << out;
  EXPECT_NE(out.find("Hello, world!"), std::string::npos) << out;
  EXPECT_NE(out.find("\nREADME.md main.py \n"), std::string::npos) << "only the template (no marker, no lost+found): " << out;
  EXPECT_NE(out.find("writable"), std::string::npos) << out;

  // Seeded before: kept as it is.
  const std::string marker = docker::VolumeDir(config_, id) + "/seeded";
  ASSERT_EQ(::access(marker.c_str(), F_OK), 0);
  ASSERT_TRUE(orch_->CreateVolume(Spec(id), nullptr).ok());
  EXPECT_EQ(Probe(Spec(id), "workspace", "cat /workspace/main.py"), "mine\n");
  // Interrupted before the marker (a hub killed mid-create; nothing has run
  // on the volume yet): missing files are written, files there are kept.
  ASSERT_EQ(::unlink(marker.c_str()), 0);
  ASSERT_EQ(::unlink((docker::VolumeDataDir(config_, id) + "/README.md").c_str()), 0);
  ASSERT_TRUE(orch_->CreateVolume(Spec(id), nullptr).ok());
  EXPECT_EQ(::access(marker.c_str(), F_OK), 0);
  EXPECT_EQ(Probe(Spec(id), "workspace", "cat /workspace/main.py; stat -c '%u:%g' /workspace/README.md"),
            "mine\n" + owner + "\n");
  // Interrupted before the named volume existed: created, same data.
  ASSERT_TRUE(api_.Json(verb::delete_, "/volumes/" + docker::VolumeName(id)).ok());
  ASSERT_TRUE(orch_->CreateVolume(Spec(id), nullptr).ok());
  EXPECT_EQ(Probe(Spec(id), "workspace", "cat /workspace/main.py"), "mine\n");

  std::string blank = NewId();
  ASSERT_TRUE(orch_->CreateVolume(Spec(blank, "blank"), nullptr).ok());
  out = Probe(Spec(blank), "runner", "stat -c '%u:%g' /workspace; ls -A /workspace | wc -l");
  EXPECT_EQ(out, std::to_string(docker::ContainerUid(blank)) + ":" + std::to_string(docker::ContainerUid(blank)) + "\n0\n");
}

TEST_F(DockerTest, ContainersAreConfinedAsSpecified) {
  std::string id = NewId();
  ASSERT_TRUE(orch_->CreateVolume(Spec(id, "blank"), nullptr).ok());
  MakeRunDir(id);
  std::string out = Probe(Spec(id), "runner",
                          "id -u; id -g; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status;"
                          "touch /rootfs-write 2>/dev/null && echo root-writable || echo root-readonly;"
                          "touch /run/playground/s && echo run-writable;"
                          "ls /sys/class/net | tr '\\n' ' '; echo;"
                          "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes"
                          " /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null;"
                          "unshare -U true 2>/dev/null && echo userns || echo no-userns");
  std::istringstream in(out);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_GE(lines.size(), 12u) << out;
  EXPECT_EQ(lines[0], std::to_string(docker::ContainerUid(id)));
  EXPECT_EQ(lines[1], std::to_string(docker::ContainerUid(id)));
  EXPECT_EQ(lines[2], "CapEff:\t0000000000000000");
  EXPECT_EQ(lines[3], "CapBnd:\t0000000000000000");
  EXPECT_EQ(lines[4], "NoNewPrivs:\t1");
  EXPECT_EQ(lines[5], "Seccomp:\t2");  // filter mode: Docker's default profile
  EXPECT_EQ(lines[6], "root-readonly");
  EXPECT_EQ(lines[7], "run-writable");
  EXPECT_EQ(lines[8], "lo ") << "no network but loopback";
  EXPECT_EQ(lines[9], "64");
  EXPECT_EQ(lines[10], std::to_string(256ll << 20));
  EXPECT_EQ(lines[11], "50000");  // 0.5 CPU of the default 100 ms period
  EXPECT_EQ(lines.back(), "no-userns");
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() + "/run/" + id + "/s").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, static_cast<uid_t>(docker::ContainerUid(id)));
}

// An image whose "playground" crashes at once: built from playground-base
// through the engine's build API (cached after the first time).
std::string CrashingImage(docker::Api& api) {
  const std::string dockerfile =
      "FROM playground-base:latest\n"
      "RUN printf '#!/bin/sh\\necho crashing on purpose >&2\\nexit 3\\n' > /usr/local/bin/playground"
      " && chmod 755 /usr/local/bin/playground\n";
  auto tar = docker::MakeTar({{"Dockerfile", dockerfile}}, 0, 0);
  if (!tar.ok()) return "";
  auto r = api.Call(verb::post, "/build?t=playground-test-crashing:latest&rm=1&forcerm=1", std::move(*tar),
                    "application/x-tar", 120s);
  if (!r.ok() || r->status != 200 || r->body.find("errorDetail") != std::string::npos) {
    ADD_FAILURE() << (r.ok() ? r->body : r.error().message);
    return "";
  }
  return "playground-test-crashing:latest";
}

TEST_F(DockerTest, StartOfCrashingServersFailsEarlyWithLogsAndLeavesNothingRunning) {
  std::string image = CrashingImage(api_);
  ASSERT_FALSE(image.empty());
  DockerConfig config = config_;
  config.workspace_image = image;
  auto o = MakeDockerOrchestrator(config);
  ASSERT_TRUE(o.ok()) << o.error().message;
  auto& orch = *o;
  std::string id = NewId();
  ASSERT_TRUE(orch->CreateVolume(Spec(id), nullptr).ok());
  std::map<std::string, std::string> recorded;
  auto t0 = Clock::now();
  auto r = orch->Start(Spec(id), [&](const std::string& k, const std::string& v) { recorded[k] = v; },
                       Clock::now() + 60s);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(Clock::now() - t0, 30s) << "must not wait for the deadline once the container gave up";
  EXPECT_EQ(r.error().code, "not_ready");
  EXPECT_NE(r.error().message.find("crashing on purpose"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("restarts 5"), std::string::npos) << r.error().message;
  EXPECT_EQ(recorded.size(), 2u);  // both container ids recorded as soon as they existed
  EXPECT_EQ(recorded["docker.workspace"].size(), 64u);
  EXPECT_TRUE(Containers(id).empty());
  EXPECT_EQ(Volumes(id), std::vector<std::string>{"playground-" + id});
  ASSERT_TRUE(orch_->Destroy(Spec(id)).ok());
  EXPECT_TRUE(Volumes(id).empty());
  EXPECT_TRUE(orch_->Destroy(Spec(id)).ok()) << "destroying twice succeeds";
  EXPECT_TRUE(orch_->Stop(Spec(id)).ok()) << "stopping a stopped playground succeeds";
  EXPECT_NE(::access((dir_.path() + "/run/" + id).c_str(), F_OK), 0) << "run dir removed";
}

TEST_F(DockerTest, StartInspectsAsLockedDown) {
  std::string id = NewId();
  ASSERT_TRUE(orch_->CreateVolume(Spec(id), nullptr).ok());
  // Start in the background; inspect the containers while it waits.
  std::thread t([&] { (void)orch_->Start(Spec(id), nullptr, Clock::now() + 1500ms); });
  json::value info;
  for (int i = 0; i < 200; ++i) {
    auto r = api_.Json(verb::get, "/containers/playground-" + id + "-runner/json");
    if (r.ok()) {
      info = *r;
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  t.join();
  ASSERT_TRUE(info.is_object()) << "the runner container never appeared";
  const auto& h = info.at("HostConfig");
  EXPECT_EQ(h.at("Memory").as_int64(), 256ll << 20);
  EXPECT_EQ(h.at("PidsLimit").as_int64(), 64);
  EXPECT_EQ(h.at("NanoCpus").as_int64(), 500000000);
  EXPECT_TRUE(h.at("ReadonlyRootfs").as_bool());
  EXPECT_FALSE(h.at("Privileged").as_bool());
  EXPECT_EQ(json::serialize(h.at("CapDrop")), "[\"ALL\"]");
  EXPECT_EQ(json::serialize(h.at("SecurityOpt")), "[\"no-new-privileges:true\"]");
  EXPECT_EQ(h.at("NetworkMode").as_string(), "none");
  EXPECT_EQ(h.at("RestartPolicy").at("Name").as_string(), "on-failure");
  const std::string uid = std::to_string(docker::ContainerUid(id));
  EXPECT_EQ(info.at("Config").at("User").as_string(), uid + ":" + uid);
  EXPECT_EQ(info.at("Config").at("Labels").at("io.playground.role").as_string(), "runner");
}

TEST_F(DockerTest, CrashedContainerIsRestartedAndCounted) {
  std::string id = NewId();
  ASSERT_TRUE(orch_->CreateVolume(Spec(id, "blank"), nullptr).ok());
  MakeRunDir(id);
  // A workspace container (the orchestrator's configuration) whose process
  // sleeps; we crash it from the host with SIGKILL.
  json::object c = docker::ContainerConfig(config_, Spec(id), "workspace");
  c["Entrypoint"] = json::array{"/bin/sleep"};
  c["Cmd"] = json::array{"600"};
  json::value body = c;
  std::string name = docker::ContainerName(id, "workspace");
  ASSERT_TRUE(api_.Json(verb::post, "/containers/create?name=" + name, &body).ok());
  ASSERT_EQ(api_.Call(verb::post, "/containers/" + name + "/start")->status, 204);
  EXPECT_EQ(orch_->Status(id).restarts, 0);
  for (int crash = 1; crash <= 2; ++crash) {
    auto info = api_.Json(verb::get, "/containers/" + name + "/json");
    ASSERT_TRUE(info.ok());
    int init = static_cast<int>(info->at("State").at("Pid").as_int64());
    ASSERT_GT(init, 0);
    // docker-init may not have started the server yet (just restarted).
    int child = 0;
    for (int i = 0; i < 100 && child <= 0; ++i) {
      std::istringstream children(
          testing::ReadProcFile("/proc/" + std::to_string(init) + "/task/" + std::to_string(init) + "/children"));
      children >> child;
      if (child <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_GT(child, 0) << "docker-init has no child";
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    Health h;
    for (int i = 0; i < 300 && (h = orch_->Status(id)).restarts < crash; ++i) std::this_thread::sleep_for(20ms);
    EXPECT_EQ(h.restarts, crash) << h.detail;
    for (int i = 0; i < 300 && !(h = orch_->Status(id)).workspace_up; ++i) std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(h.workspace_up) << h.detail;
    EXPECT_FALSE(h.runner_up);
    EXPECT_NE(h.detail.find("runner: absent"), std::string::npos) << h.detail;
  }
}

TEST_F(DockerTest, OrphansAreListedAndDestroyed) {
  std::string a = NewId(), b = NewId();
  ASSERT_TRUE(orch_->CreateVolume(Spec(a), nullptr).ok());
  ASSERT_TRUE(orch_->CreateVolume(Spec(b), nullptr).ok());
  // A labelled container left behind by a hub killed mid-create.
  MakeRunDir(b);
  json::object c = docker::ContainerConfig(config_, Spec(b), "runner");
  json::value body = c;
  auto created = api_.Json(verb::post, "/containers/create?name=" + docker::ContainerName(b, "runner"), &body);
  ASSERT_TRUE(created.ok()) << created.error().message;

  // A fresh orchestrator (a restarted hub) sees both.
  DockerConfig config = config_;
  auto other = MakeDockerOrchestrator(config);
  ASSERT_TRUE(other.ok());
  auto owned = (*other)->ListOwned();
  ASSERT_TRUE(owned.ok()) << owned.error().message;
  std::set<std::string> ids(owned->begin(), owned->end());
  EXPECT_TRUE(ids.count(a));
  EXPECT_TRUE(ids.count(b));
  ASSERT_TRUE((*other)->DestroyOrphan(b).ok());
  EXPECT_TRUE(Containers(b).empty());
  EXPECT_TRUE(Volumes(b).empty());
  EXPECT_EQ(Volumes(a).size(), 1u) << "only the orphan goes";
  owned = (*other)->ListOwned();
  ASSERT_TRUE(owned.ok());
  EXPECT_FALSE(std::set<std::string>(owned->begin(), owned->end()).count(b));
}

TEST_F(DockerTest, BadInputsAreClearErrors) {
  for (std::string bad : {"", "../../etc", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abc", "abcdefghijklmnopqrstuvwxy/"}) {
    auto c = orch_->CreateVolume(Spec(bad), nullptr);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, "invalid_id");
    EXPECT_EQ(orch_->Start(Spec(bad), nullptr, Clock::now() + 1s).error().code, "invalid_id");
    EXPECT_EQ(orch_->Destroy(Spec(bad)).error().code, "invalid_id");
    EXPECT_EQ(orch_->DestroyOrphan(bad).error().code, "invalid_id");
    EXPECT_FALSE(orch_->Status(bad).workspace_up);
  }
  std::string id = NewId();
  auto t = orch_->CreateVolume(Spec(id, "cobol; rm -rf /"), nullptr);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code, "unknown_template");
  EXPECT_TRUE(Volumes(id).empty());
  auto s = orch_->Start(Spec(id), nullptr, Clock::now() + 1s);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "volume_missing");
  auto adopt = orch_->Adopt(Spec(id), Clock::now() + 1s);
  EXPECT_FALSE(adopt.ok());
}

TEST_F(DockerTest, DiskLimitIsEnforcedInsideTheContainersAndSurvivesAHostRestart) {
  std::string id = NewId();
  PlaygroundSpec spec = Spec(id, "blank");
  spec.limits.disk_mb = 16;
  std::map<std::string, std::string> recorded;
  ASSERT_TRUE(orch_->CreateVolume(spec, [&](const std::string& k, const std::string& v) { recorded[k] = v; }).ok());
  ASSERT_NE(recorded["quota"].find("ext4 image"), std::string::npos)
      << "no quota on this host: " << recorded["quota"];
  std::string out = Probe(spec, "runner",
                          "df -k /workspace | awk 'NR==2 {print ($2 > 12000 && $2 <= 16384) ? \"size-ok\" : $2}';"
                          "echo small > /workspace/small && echo small-ok;"
                          "dd if=/dev/zero of=/workspace/big bs=1M count=32 2>&1 | grep -o 'No space left on device';"
                          "rm /workspace/big; echo again > /workspace/again && echo again-ok");
  EXPECT_EQ(out, "size-ok\nsmall-ok\nNo space left on device\nagain-ok\n");

  // A host restart unmounts the file system: the bind's source is gone, so
  // nothing can write to the data dir's own disk by mistake...
  const std::string dir = docker::VolumeDir(config_, id);
  ASSERT_EQ(::umount2(dir.c_str(), 0), 0) << strerror(errno);
  MakeRunDir(id);
  json::object c = docker::ContainerConfig(config_, spec, "runner");
  c["Entrypoint"] = json::array{"/bin/true"};
  c["Cmd"] = json::array{};
  json::value body = c;
  const std::string name = docker::ContainerName(id, "probe");
  ASSERT_TRUE(api_.Json(verb::post, "/containers/create?name=" + name, &body).ok());
  auto started = api_.Call(verb::post, "/containers/" + name + "/start");
  ASSERT_TRUE(started.ok());
  EXPECT_NE(started->status, 204) << "a container started on an unmounted volume";
  (void)api_.Call(verb::delete_, "/containers/" + name + "?force=1");
  // ...and Start mounts it again, with the data.
  auto b = orch_->Start(spec, nullptr, Clock::now() + 30s);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(Probe(spec, "workspace", "cat /workspace/small /workspace/again"), "small\nagain\n");
  ASSERT_TRUE(orch_->Destroy(spec).ok());
  EXPECT_NE(::access(dir.c_str(), F_OK), 0) << "volume directory left";
  EXPECT_NE(::access((dir + ".ext4").c_str(), F_OK), 0) << "volume image left";
}

TEST_F(DockerTest, StartReplacesContainersAKilledHubLeft) {
  std::string id = NewId();
  ASSERT_TRUE(orch_->CreateVolume(Spec(id), nullptr).ok());
  MakeRunDir(id);
  // A created-but-never-started workspace container and a running runner
  // that is not the server, as a hub killed mid-Start leaves them; plus a
  // stale socket file.
  for (std::string role : {"workspace", "runner"}) {
    json::object c = docker::ContainerConfig(config_, Spec(id), role);
    c["Entrypoint"] = json::array{"/bin/sleep"};
    c["Cmd"] = json::array{"600"};
    json::value body = c;
    const std::string name = docker::ContainerName(id, role);
    ASSERT_TRUE(api_.Json(verb::post, "/containers/create?name=" + name, &body).ok());
    if (role == "runner") {
      ASSERT_EQ(api_.Call(verb::post, "/containers/" + name + "/start")->status, 204);
    }
  }
  { std::ofstream(docker::RunDir(config_, id) + "/workspace.sock") << "stale"; }
  auto b = orch_->Start(Spec(id), nullptr, Clock::now() + 30s);
  ASSERT_TRUE(b.ok()) << b.error().message;
  Health h = orch_->Status(id);
  EXPECT_TRUE(h.workspace_up && h.runner_up) << h.detail;
  EXPECT_EQ(h.restarts, 0);
  EXPECT_EQ(Containers(id).size(), 2u);
  // The servers answer (not the sleeping leftovers).
  EXPECT_TRUE(WaitReady(*b, Clock::now() + 5s).ok());
}

TEST(DockerFactory, ReportsMissingEngineImagesAndBadConfig) {
  pg::testing::TempDir dir;
  DockerConfig config;
  config.data_dir = dir.path();
  config.socket = dir.path() + "/no-docker.sock";
  auto r = MakeDockerOrchestrator(config);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "docker_unavailable");
  EXPECT_NE(r.error().message.find("start-dockerd.sh"), std::string::npos);

  config.data_dir = "relative/dir";
  EXPECT_EQ(MakeDockerOrchestrator(config).error().code, "invalid_config");

  if (!DockerSkipReason().empty()) GTEST_SKIP() << DockerSkipReason();
  config.data_dir = dir.path();
  config.socket = kDockerSocket;
  config.runner_image = "playground-no-such-image:latest";
  r = MakeDockerOrchestrator(config);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "image_missing");
  EXPECT_NE(r.error().message.find("build-images.sh"), std::string::npos);
}

// The full lifecycle against the images' real servers.
TEST_F(DockerTest, LifecycleServesBothSocketsStopsAdoptsAndDestroys) {
  std::string id = NewId();
  ASSERT_TRUE(orch_->CreateVolume(Spec(id), nullptr).ok());
  auto b = orch_->Start(Spec(id), nullptr, Clock::now() + 30s);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->workspace.path, dir_.path() + "/run/" + id + "/workspace.sock");
  Health h = orch_->Status(id);
  EXPECT_TRUE(h.workspace_up && h.runner_up) << h.detail;
  auto again = orch_->Adopt(Spec(id), Clock::now() + 10s);
  ASSERT_TRUE(again.ok()) << again.error().message;
  ASSERT_TRUE(orch_->Stop(Spec(id)).ok());
  EXPECT_TRUE(Containers(id).empty());
  auto adopted = orch_->Adopt(Spec(id), Clock::now() + 30s);  // restarts a stopped one
  ASSERT_TRUE(adopted.ok()) << adopted.error().message;
  ASSERT_TRUE(orch_->Destroy(Spec(id)).ok());
  EXPECT_TRUE(Containers(id).empty());
  EXPECT_TRUE(Volumes(id).empty());
}

}  // namespace
}  // namespace pg::orchestrator
