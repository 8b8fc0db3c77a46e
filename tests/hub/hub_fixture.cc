#include "hub_fixture.h"

#include <sys/stat.h>

#include "common/http_client.h"
#include "orchestrator/local/local_orchestrator.h"
#include "registry/registry.h"
#include "sandbox/sandbox.h"

namespace pg::testing {

std::string Str(const boost::json::value& v, const char* key) {
  if (!v.is_object()) return "";
  auto it = v.as_object().find(key);
  if (it == v.as_object().end() || !it->value().is_string()) return "";
  return std::string(it->value().as_string());
}

void HubTest::SetUp() {
  std::string why = OrchestratorUnavailable(orchestrator());
  if (!why.empty()) GTEST_SKIP() << why;
  dir_ = std::make_unique<TempDir>();
  StartHub();
}

void HubTest::TearDown() {
  if (HasFailure() && hub_) {
    std::string log = hub_->log();
    if (log.size() > 4000) log = log.substr(log.size() - 4000);
    std::fprintf(stderr, "--- hub log (tail) ---\n%s\n", log.c_str());
  }
}

void HubTest::StartHub() {
  hub_ = std::make_unique<HubProcess>(dir_->path(), std::vector<std::string>{"--orchestrator", orchestrator()});
  ASSERT_TRUE(hub_->Start()) << hub_->log();
}

void HubTest::RestartHub() {
  hub_->Terminate();
  StartHub();
}

boost::json::object HubTest::Create(const std::string& tmpl, const std::string& name) {
  boost::json::object body{{"template", tmpl}};
  if (!name.empty()) body["name"] = name;
  auto r = hub_->Call("POST", "/api/v1/playgrounds", boost::json::serialize(body));
  EXPECT_EQ(r.status, 201) << r.body << "\n" << hub_->log();
  EXPECT_EQ(Str(r.json, "status"), "running") << r.body;
  return r.json.is_object() ? r.json.as_object() : boost::json::object();
}

std::string HubTest::FileOf(const std::string& id, const std::string& path, int* status) {
  auto r = hub_->Call("GET", "/api/v1/playgrounds/" + id + "/files/" + path);
  if (status) *status = r.status;
  return r.body;
}

void HubTest::ExpectGone(const std::string& id) {
  EXPECT_TRUE(ProcessesOfPlayground(id).empty()) << "processes of " << id << " left";
  struct stat st;
  EXPECT_NE(stat((dir_->path() + "/run/" + id).c_str(), &st), 0) << "run dir (sockets) of " << id << " left";
  EXPECT_NE(stat((dir_->path() + "/volumes/" + id).c_str(), &st), 0) << "volume of " << id << " left";
  EXPECT_NE(stat((dir_->path() + "/volumes/" + id + ".ext4").c_str(), &st), 0) << "volume image of " << id << " left";
  if (orchestrator() == "local") {
    std::string parent = orchestrator::LocalCgroupParent(dir_->path());
    for (const auto& cg : sandbox::ListCgroups(parent)) EXPECT_NE(cg, id) << "cgroup of " << id << " left";
  }
  auto reg = registry::Registry::Open(dir_->path() + "/registry.db");
  ASSERT_TRUE(reg.ok());
  auto row = (*reg)->Get(id);
  ASSERT_TRUE(row.ok());
  EXPECT_FALSE(row->has_value()) << "registry row of " << id << " left";
}

}  // namespace pg::testing
