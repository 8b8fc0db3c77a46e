// Shared fixture of the hub integration tests, parameterised by
// orchestrator ("local", "docker"): the same lifecycle and crash tests run
// against each. Docker cases skip when no engine or images are present.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "testing/hub_process.h"
#include "testing/testing.h"

namespace pg::testing {


class HubTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // (Re)starts the hub on the same data dir.
  void StartHub();
  void RestartHub();

  // Creates a playground and returns its JSON (asserting 201 running).
  boost::json::object Create(const std::string& tmpl, const std::string& name = "");
  std::string FileOf(const std::string& id, const std::string& path, int* status = nullptr);
  // Asserts nothing of `id` is left: process, sockets, cgroups, volume, row.
  void ExpectGone(const std::string& id);

  std::string orchestrator() const { return GetParam(); }
  // Fewer playgrounds where each costs real containers.
  int Scale(int local_count) const { return orchestrator() == "local" ? local_count : std::max(2, local_count / 5); }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<HubProcess> hub_;
};

std::string Str(const boost::json::value& v, const char* key);

}  // namespace pg::testing
