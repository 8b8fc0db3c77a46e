// Shared by the docker tests (tests/docker/*_test.cc): whether the engine and
// the images are here, a fixture with its own data dir (hence its own hub
// label) that removes whatever a test left of it, and listings of labelled
// containers and volumes through the Engine API.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "orchestrator/docker/docker_api.h"
#include "orchestrator/docker/docker_orchestrator.h"
#include "testing/testing.h"

namespace pg::orchestrator {

inline constexpr char kDockerSocket[] = "/var/run/docker.sock";

// Why the docker tests cannot run here (no engine at kDockerSocket, an image
// missing), or "" when they can.
std::string DockerSkipReason();

class DockerFixture : public ::testing::Test {
 protected:
  // Skips with DockerSkipReason(); sets config_ to a fresh data dir.
  void SetUp() override;
  // Destroys everything of this data dir's hub label (containers, volumes,
  // host directories), whatever the test did.
  void TearDown() override;

  // Names of the containers / volumes / both carrying `label` ("k=v").
  std::vector<std::string> LabelledContainers(const std::string& label);
  std::vector<std::string> LabelledVolumes(const std::string& label);
  std::vector<std::string> Labelled(const std::string& label);
  // "io.playground.id=<id>" and "io.playground.hub=<this hub>".
  static std::string IdLabel(const std::string& id);
  std::string HubLabel() const;

  pg::testing::TempDir dir_;
  DockerConfig config_;  // data_dir set by SetUp; default images
  docker::Api api_{kDockerSocket};
};

}  // namespace pg::orchestrator
