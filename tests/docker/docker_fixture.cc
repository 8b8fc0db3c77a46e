#include "docker_fixture.h"

#include "orchestrator/docker/docker_spec.h"

namespace pg::orchestrator {

using boost::beast::http::verb;
using namespace std::chrono_literals;

std::string DockerSkipReason() {
  docker::Api api(kDockerSocket);
  auto ping = api.Call(verb::get, "/_ping", {}, "application/json", 3s);
  if (!ping.ok() || ping->status != 200) {
    return std::string("no Docker engine at ") + kDockerSocket + " (scripts/start-dockerd.sh)";
  }
  DockerConfig c;
  for (const auto& image : {c.workspace_image, c.runner_image}) {
    if (!api.Json(verb::get, "/images/" + image + "/json").ok()) {
      return "image " + image + " missing (scripts/build-images.sh)";
    }
  }
  return "";
}

void DockerFixture::SetUp() {
  std::string why = DockerSkipReason();
  if (!why.empty()) GTEST_SKIP() << why;
  config_.data_dir = dir_.path();
}

void DockerFixture::TearDown() {
  if (config_.data_dir.empty()) return;
  auto o = MakeDockerOrchestrator(config_);
  if (!o.ok()) return;
  auto owned = (*o)->ListOwned();
  if (!owned.ok()) return;
  for (const auto& id : *owned) {
    auto r = (*o)->DestroyOrphan(id);
    EXPECT_TRUE(r.ok()) << "cleaning up " << id << ": " << r.error().message;
  }
}

std::vector<std::string> DockerFixture::LabelledContainers(const std::string& label) {
  std::string filter = docker::UrlEncode("{\"label\":[\"" + label + "\"]}");
  std::vector<std::string> out;
  auto r = api_.Json(verb::get, "/containers/json?all=1&filters=" + filter);
  EXPECT_TRUE(r.ok()) << r.error().message;
  if (r.ok()) {
    for (const auto& c : r->as_array()) out.emplace_back(c.at("Names").as_array().at(0).as_string());
  }
  return out;
}

std::vector<std::string> DockerFixture::LabelledVolumes(const std::string& label) {
  std::string filter = docker::UrlEncode("{\"label\":[\"" + label + "\"]}");
  std::vector<std::string> out;
  auto r = api_.Json(verb::get, "/volumes?filters=" + filter);
  EXPECT_TRUE(r.ok()) << r.error().message;
  if (r.ok() && r->at("Volumes").is_array()) {
    for (const auto& v : r->at("Volumes").as_array()) out.emplace_back(v.at("Name").as_string());
  }
  return out;
}

std::vector<std::string> DockerFixture::Labelled(const std::string& label) {
  auto out = LabelledContainers(label);
  for (auto& v : LabelledVolumes(label)) out.push_back(std::move(v));
  return out;
}

std::string DockerFixture::IdLabel(const std::string& id) { return std::string(docker::kLabelId) + "=" + id; }

std::string DockerFixture::HubLabel() const {
  return std::string(docker::kLabelHub) + "=" + docker::HubLabel(config_);
}

}  // namespace pg::orchestrator
