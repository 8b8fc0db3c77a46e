// Every client mistake the REST API can meet gets a 4xx with a stable error
// code, never a 5xx. One real hub (local orchestrator) serves the suite.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "hub_fixture.h"

namespace pg::testing {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    hub_ = new HubProcess(dir_->path());
    ASSERT_TRUE(hub_->Start()) << hub_->log();
    auto r = hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"python","name":"errors"})");
    ASSERT_EQ(r.status, 201) << r.body << hub_->log();
    id_ = new std::string(Str(r.json, "id"));
    token_ = new std::string(Str(r.json, "token"));
    auto r2 = hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"blank"})");
    ASSERT_EQ(r2.status, 201) << r2.body;
    other_id_ = new std::string(Str(r2.json, "id"));
  }
  static void TearDownTestSuite() {
    delete hub_;
    delete dir_;
  }
  static void Expect(const HubResponse& r, int status, const std::string& code) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.ErrorCode(), code) << r.body;
    ASSERT_TRUE(r.json.is_object()) << r.body;
    EXPECT_FALSE(Str(r.json.at("error"), "message").empty()) << r.body;
  }
  static std::string Files(const std::string& path) { return "/api/v1/playgrounds/" + *id_ + "/files/" + path; }

  static TempDir* dir_;
  static HubProcess* hub_;
  static std::string* id_;
  static std::string* token_;
  static std::string* other_id_;
};
TempDir* ApiTest::dir_;
HubProcess* ApiTest::hub_;
std::string* ApiTest::id_;
std::string* ApiTest::token_;
std::string* ApiTest::other_id_;

TEST_F(ApiTest, MalformedJson) {
  Expect(hub_->Call("POST", "/api/v1/playgrounds", "{\"template\": "), 400, "malformed_json");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", "[1,2]"), 400, "malformed_json");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", "\xff\xfe"), 400, "malformed_json");
}

TEST_F(ApiTest, UnknownFields) {
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"python","colour":"red"})"), 400, "unknown_field");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"limits":{"gpus":1}})"), 400, "unknown_field");
}

TEST_F(ApiTest, WrongTypesAndValues) {
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"name":5})"), 400, "invalid_type");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"wait":"yes"})"), 400, "invalid_type");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"limits":[]})"), 400, "invalid_type");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"limits":{"memory_mb":"1G"}})"), 400, "invalid_type");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"cobol"})"), 400, "invalid_value");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"limits":{"memory_mb":1}})"), 400, "invalid_value");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", R"({"limits":{"pids":99999999}})"), 400, "invalid_value");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", "{\"name\":\"" + std::string(200, 'x') + "\"}"), 400,
         "invalid_value");
  Expect(hub_->Call("GET", "/api/v1/playgrounds?limit=0"), 400, "invalid_value");
  Expect(hub_->Call("GET", "/api/v1/playgrounds?limit=abc"), 400, "invalid_value");
  Expect(hub_->Call("GET", "/api/v1/playgrounds?cursor=zz"), 400, "invalid_value");
}

TEST_F(ApiTest, OversizedBodies) {
  std::string big = "{\"name\":\"" + std::string(2 << 20, 'a') + "\"}";
  Expect(hub_->Call("POST", "/api/v1/playgrounds", big), 413, "body_too_large");
  Expect(hub_->Call("PUT", Files("big.txt"), std::string((1 << 20) + 10, 'b')), 413, "body_too_large");
}

TEST_F(ApiTest, UnknownIds) {
  Expect(hub_->Call("GET", "/api/v1/playgrounds/doesnotexist"), 404, "not_found");
  Expect(hub_->Call("GET", "/api/v1/playgrounds/aaaaaaaaaaaaaaaaaaaaaaaaaa"), 404, "not_found");
  Expect(hub_->Call("DELETE", "/api/v1/playgrounds/aaaaaaaaaaaaaaaaaaaaaaaaaa"), 404, "not_found");
  Expect(hub_->Call("POST", "/api/v1/playgrounds/aaaaaaaaaaaaaaaaaaaaaaaaaa/stop"), 404, "not_found");
  Expect(hub_->Call("GET", "/api/v1/playgrounds/aaaaaaaaaaaaaaaaaaaaaaaaaa/files/main.py"), 404, "not_found");
  Expect(hub_->Call("GET", "/api/v1/nothing"), 404, "not_found");
}

TEST_F(ApiTest, Tokens) {
  Expect(hub_->Call("GET", "/api/v1/playgrounds", "", "-"), 401, "unauthorized");
  Expect(hub_->Call("GET", "/api/v1/playgrounds", "", "wrong-token"), 401, "unauthorized");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", "{}", "-"), 401, "unauthorized");
  Expect(hub_->Call("GET", "/api/v1/playgrounds/" + *id_, "", "-"), 401, "unauthorized");
  // A playground token works for its own playground, files and runs...
  EXPECT_EQ(hub_->Call("GET", "/api/v1/playgrounds/" + *id_, "", *token_).status, 200);
  EXPECT_EQ(hub_->Call("GET", Files("main.py"), "", *token_).status, 200);
  EXPECT_EQ(hub_->Call("PUT", Files("mine.txt"), "x", *token_).status, 204);
  // ...not for listing or creating...
  Expect(hub_->Call("GET", "/api/v1/playgrounds", "", *token_), 403, "forbidden");
  Expect(hub_->Call("POST", "/api/v1/playgrounds", "{}", *token_), 403, "forbidden");
  // ...and another playground looks exactly like a missing one.
  auto other = hub_->Call("GET", "/api/v1/playgrounds/" + *other_id_, "", *token_);
  auto missing = hub_->Call("GET", "/api/v1/playgrounds/aaaaaaaaaaaaaaaaaaaaaaaaaa", "", *token_);
  Expect(other, 404, "not_found");
  EXPECT_EQ(other.body, missing.body);
  Expect(hub_->Call("GET", "/api/v1/playgrounds/" + *other_id_ + "/files/", "", *token_), 404, "not_found");
}

TEST_F(ApiTest, PathsThatEscapeTheVolume) {
  for (const char* p : {"..%2F..%2Fetc%2Fpasswd", "%2e%2e/%2e%2e/etc/passwd", "a/../../b", "%2Fetc%2Fpasswd"}) {
    auto r = hub_->Call("GET", Files(p));
    EXPECT_EQ(r.status, 400) << p << ": " << r.body;
    EXPECT_EQ(r.ErrorCode(), "invalid_path") << p << ": " << r.body;
    auto w = hub_->Call("PUT", Files(p), "pwned");
    EXPECT_EQ(w.status, 400) << p << ": " << w.body;
  }
  struct stat st;
  EXPECT_NE(stat((dir_->path() + "/b").c_str(), &st), 0);
}

TEST_F(ApiTest, FilesRoundTripAndTree) {
  std::string binary("\x00\x01\xff\xfe binary", 12);
  ASSERT_EQ(hub_->Call("PUT", Files("dir/sub/data.bin"), binary).status, 204);
  auto got = hub_->Call("GET", Files("dir/sub/data.bin"));
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, binary);
  auto tree = hub_->Call("GET", Files(""));
  EXPECT_EQ(tree.status, 200) << tree.body;
  EXPECT_NE(tree.body.find("dir/sub/data.bin"), std::string::npos) << tree.body;
  EXPECT_NE(tree.body.find("main.py"), std::string::npos) << tree.body;
  Expect(hub_->Call("GET", Files("nope.txt")), 404, "not_found");
}

TEST_F(ApiTest, MethodsAndAdminToken) {
  Expect(hub_->Call("PATCH", "/api/v1/playgrounds"), 405, "method_not_allowed");
  Expect(hub_->Call("PUT", "/api/v1/playgrounds/" + *id_), 405, "method_not_allowed");
  struct stat st;
  ASSERT_EQ(stat((dir_->path() + "/admin-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(ApiTest, GarbageOnTheWireIsA400) {
  http::ClientRequest req;
  auto r = hub_->Call("GET", "/api/v1/playgrounds/%zz");
  EXPECT_EQ(r.status, 400) << r.body;
}

}  // namespace
}  // namespace pg::testing
