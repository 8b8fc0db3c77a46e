// Access control through a real hub (local orchestrator): users and their
// API keys, per-playground tokens and roles, share links and cookies,
// revocation of open connections, the Origin check and rate limits.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <thread>

#include "hub_fixture.h"
#include "router_ws_client.h"

namespace pg::testing {
namespace {

namespace json = boost::json;

class AccessTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    hub_ = new HubProcess(dir_->path());
    ASSERT_TRUE(hub_->Start()) << hub_->log();
    auto r = hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"python","name":"shared"})");
    ASSERT_EQ(r.status, 201) << r.body << hub_->log();
    id_ = new std::string(Str(r.json, "id"));
    owner_token_ = new std::string(Str(r.json, "token"));
    ASSERT_EQ(hub_->Call("PUT", Files(*id_, "note.txt"), "original").status, 204);
  }
  static void TearDownTestSuite() {
    delete hub_;
    delete dir_;
  }
  static std::string Files(const std::string& id, const std::string& path) {
    return "/api/v1/playgrounds/" + id + "/files/" + path;
  }
  // A new token of `role` on the shared playground: (token, id).
  static std::pair<std::string, std::string> NewToken(const std::string& role) {
    auto r = hub_->Call("POST", "/api/v1/playgrounds/" + *id_ + "/tokens",
                        R"({"role":")" + role + R"(","label":"test"})", *owner_token_);
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(Str(r.json, "role"), role);
    return {Str(r.json, "token"), Str(r.json, "id")};
  }
  static std::vector<std::pair<std::string, std::string>> Bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
  }

  static TempDir* dir_;
  static HubProcess* hub_;
  static std::string* id_;
  static std::string* owner_token_;
};
TempDir* AccessTest::dir_;
HubProcess* AccessTest::hub_;
std::string* AccessTest::id_;
std::string* AccessTest::owner_token_;

TEST_F(AccessTest, UsersSeeOnlyTheirPlaygrounds) {
  auto a = hub_->Call("POST", "/api/v1/users", R"({"name":"ada"})");
  ASSERT_EQ(a.status, 201) << a.body;
  auto b = hub_->Call("POST", "/api/v1/users", R"({"name":"bob"})");
  ASSERT_EQ(b.status, 201) << b.body;
  std::string ka = Str(a.json, "api_key"), kb = Str(b.json, "api_key");
  ASSERT_FALSE(ka.empty());

  auto pa = hub_->Call("POST", "/api/v1/playgrounds", R"({"template":"blank","name":"ada's"})", ka);
  ASSERT_EQ(pa.status, 201) << pa.body;
  std::string ida = Str(pa.json, "id");
  // Ada lists only hers; Bob sees none; the admin sees all.
  auto la = hub_->Call("GET", "/api/v1/playgrounds", "", ka);
  ASSERT_EQ(la.status, 200);
  ASSERT_EQ(la.json.at("items").as_array().size(), 1u) << la.body;
  EXPECT_EQ(Str(la.json.at("items").as_array()[0], "id"), ida);
  auto lb = hub_->Call("GET", "/api/v1/playgrounds", "", kb);
  EXPECT_EQ(lb.json.at("items").as_array().size(), 0u) << lb.body;
  auto all = hub_->Call("GET", "/api/v1/playgrounds?limit=500");
  EXPECT_GE(all.json.at("items").as_array().size(), 2u);

  // Bob gets the same answer for Ada's playground as for a missing one.
  auto hidden = hub_->Call("GET", "/api/v1/playgrounds/" + ida, "", kb);
  auto missing = hub_->Call("GET", "/api/v1/playgrounds/aaaaaaaaaaaaaaaaaaaaaaaaaa", "", kb);
  EXPECT_EQ(hidden.status, 404);
  EXPECT_EQ(hidden.status, missing.status);
  EXPECT_EQ(hidden.body, missing.body);
  EXPECT_EQ(hub_->Call("GET", Files(ida, "x"), "", kb).body, hub_->Call("GET", Files("aaaaaaaaaaaaaaaaaaaaaaaaaa", "x"), "", kb).body);
  EXPECT_EQ(hub_->Call("DELETE", "/api/v1/playgrounds/" + ida, "", kb).status, 404);
  EXPECT_EQ(hub_->Call("GET", "/api/v1/playgrounds/" + ida, "", ka).status, 200);

  // Users do not manage users (other than themselves).
  EXPECT_EQ(hub_->Call("GET", "/api/v1/users", "", ka).status, 403);
  EXPECT_EQ(hub_->Call("POST", "/api/v1/users", R"({"name":"eve"})", ka).status, 403);
  EXPECT_EQ(hub_->Call("GET", "/api/v1/users/" + Str(b.json, "id"), "", ka).status, 404);
  EXPECT_EQ(hub_->Call("GET", "/api/v1/users/" + Str(a.json, "id"), "", ka).status, 200);
  auto users = hub_->Call("GET", "/api/v1/users");
  EXPECT_GE(users.json.at("items").as_array().size(), 2u);

  // Keys: a second one, listed without secrets, revocable.
  std::string keys = "/api/v1/users/" + Str(a.json, "id") + "/keys";
  auto k2 = hub_->Call("POST", keys, R"({"label":"laptop"})", ka);
  ASSERT_EQ(k2.status, 201) << k2.body;
  std::string key2 = Str(k2.json, "api_key");
  auto list = hub_->Call("GET", keys, "", ka);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json.at("items").as_array().size(), 2u);
  EXPECT_EQ(list.body.find(ka), std::string::npos);
  EXPECT_EQ(list.body.find(key2), std::string::npos);
  EXPECT_EQ(hub_->Call("GET", "/api/v1/playgrounds", "", key2).status, 200);
  EXPECT_EQ(hub_->Call("DELETE", keys + "/" + Str(k2.json, "id"), "", ka).status, 204);
  EXPECT_EQ(hub_->Call("GET", "/api/v1/playgrounds", "", key2).status, 401);
  EXPECT_EQ(hub_->Call("GET", "/api/v1/playgrounds", "", ka).status, 200);
  EXPECT_EQ(hub_->Call("DELETE", keys + "/0000000000000000", "", ka).status, 404);

  // A key logs in by link (cookie) too.
  auto login = hub_->Call("GET", "/login?token=" + ka, "", "-");
  EXPECT_EQ(login.status, 302);
  EXPECT_NE(login.Header("Set-Cookie").find("HttpOnly"), std::string::npos);
  EXPECT_NE(login.Header("Set-Cookie").find("SameSite"), std::string::npos);

  // Deleting the user revokes its keys.
  EXPECT_EQ(hub_->Call("DELETE", "/api/v1/users/" + Str(b.json, "id")).status, 204);
  EXPECT_EQ(hub_->Call("GET", "/api/v1/playgrounds", "", kb).status, 401);
}

TEST_F(AccessTest, BadUserAndTokenRequests) {
  EXPECT_EQ(hub_->Call("POST", "/api/v1/users", R"({})").ErrorCode(), "invalid_value");
  EXPECT_EQ(hub_->Call("POST", "/api/v1/users", R"({"name":7})").ErrorCode(), "invalid_type");
  EXPECT_EQ(hub_->Call("POST", "/api/v1/users", R"({"name":"x","admin":true})").ErrorCode(), "unknown_field");
  EXPECT_EQ(hub_->Call("POST", "/api/v1/users", R"({"name":)").ErrorCode(), "malformed_json");
  EXPECT_EQ(hub_->Call("GET", "/api/v1/users", "", "-").status, 401);
  EXPECT_EQ(hub_->Call("GET", "/api/v1/users/u_nope").status, 404);
  std::string tokens = "/api/v1/playgrounds/" + *id_ + "/tokens";
  EXPECT_EQ(hub_->Call("POST", tokens, R"({"role":"god"})").ErrorCode(), "invalid_value");
  EXPECT_EQ(hub_->Call("POST", tokens, R"({"role":1})").ErrorCode(), "invalid_type");
  EXPECT_EQ(hub_->Call("POST", tokens, R"({"role":"viewer","x":1})").ErrorCode(), "unknown_field");
  EXPECT_EQ(hub_->Call("DELETE", tokens + "/ffffffffffffffff").status, 404);
  // Non-owners do not manage tokens.
  auto [editor, editor_id] = NewToken("editor");
  EXPECT_EQ(hub_->Call("POST", tokens, R"({"role":"owner"})", editor).status, 403);
  EXPECT_EQ(hub_->Call("GET", tokens, "", editor).status, 403);
  auto list = hub_->Call("GET", tokens);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find(editor), std::string::npos);
  EXPECT_NE(list.body.find(editor_id), std::string::npos);
}

TEST_F(AccessTest, ViewerCannotEditRunOrWrite) {
  auto [viewer, viewer_id] = NewToken("viewer");
  // Reads work.
  auto read = hub_->Call("GET", Files(*id_, "note.txt"), "", viewer);
  EXPECT_EQ(read.status, 200);
  EXPECT_EQ(read.body, "original");
  EXPECT_EQ(hub_->Call("GET", "/p/" + *id_ + "/files/note.txt", "", viewer).status, 200);
  // Writes, deletes and runs do not.
  EXPECT_EQ(hub_->Call("PUT", Files(*id_, "note.txt"), "changed", viewer).status, 403);
  EXPECT_EQ(hub_->Call("DELETE", Files(*id_, "note.txt"), "", viewer).status, 403);
  EXPECT_EQ(hub_->Call("PUT", "/p/" + *id_ + "/files/new.txt", "x", viewer).status, 403);
  EXPECT_EQ(hub_->Call("POST", "/api/v1/playgrounds/" + *id_ + "/runs", R"({"language":"python"})", viewer).status, 403);
  EXPECT_EQ(hub_->Call("POST", "/api/v1/playgrounds/" + *id_ + "/stop", "", viewer).status, 403);
  EXPECT_EQ(hub_->Call("DELETE", "/api/v1/playgrounds/" + *id_, "", viewer).status, 403);
  WsClient run;
  int status = 0;
  EXPECT_FALSE(run.Connect(hub_->url(), "/p/" + *id_ + "/run", Bearer(viewer), &status));
  EXPECT_EQ(status, 403);

  // The workspace WebSocket: reading and watching pass, mutations are refused.
  WsClient ws;
  ASSERT_TRUE(ws.Connect(hub_->url(), "/p/" + *id_ + "/workspace", Bearer(viewer), &status)) << status;
  auto welcome = ws.Read();
  ASSERT_TRUE(welcome);
  EXPECT_NE(welcome->find("\"welcome\""), std::string::npos) << *welcome;
  for (const char* msg : {R"({"type":"write","id":3,"path":"note.txt","text":"hacked"})",
                          R"({"type":"create","id":3,"path":"evil.txt","kind":"file"})",
                          R"({"type":"rename","id":3,"from":"note.txt","to":"gone.txt"})",
                          R"({"type":"delete","id":3,"path":"note.txt"})",
                          R"({"type":"push","id":3,"path":"note.txt","version":0,"updates":[]})"}) {
    ASSERT_TRUE(ws.Send(msg));
    auto reply = ws.Read();
    ASSERT_TRUE(reply) << msg;
    auto v = json::parse(*reply);
    EXPECT_EQ(Str(v, "type"), "error") << *reply;
    EXPECT_EQ(Str(v, "code"), "forbidden") << *reply;
    EXPECT_EQ(v.at("id").as_int64(), 3) << *reply;
  }
  ASSERT_TRUE(ws.Send(R"({"type":"open","id":4,"path":"note.txt"})"));
  auto doc = ws.Read();
  ASSERT_TRUE(doc);
  EXPECT_EQ(Str(json::parse(*doc), "type"), "doc") << *doc;
  EXPECT_EQ(Str(json::parse(*doc), "text"), "original") << *doc;
  // A malformed message is relayed (the workspace answers it).
  ASSERT_TRUE(ws.Send("{nope"));
  auto bad = ws.Read();
  ASSERT_TRUE(bad);
  EXPECT_EQ(Str(json::parse(*bad), "code"), "malformed_json") << *bad;
  // An editor's change reaches the viewer.
  auto [editor, editor_id] = NewToken("editor");
  EXPECT_EQ(hub_->Call("PUT", Files(*id_, "other.txt"), "from editor", editor).status, 204);
  bool saw = false;
  for (int i = 0; i < 10 && !saw; ++i) {
    auto m = ws.Read(std::chrono::seconds(5));
    if (!m) break;
    saw = m->find("other.txt") != std::string::npos;
  }
  EXPECT_TRUE(saw);
  EXPECT_EQ(hub_->Call("GET", Files(*id_, "note.txt")).body, "original");
  EXPECT_EQ(hub_->Call("GET", Files(*id_, "evil.txt")).status, 404);
}

TEST_F(AccessTest, ShareLinkSetsCookie) {
  auto r = hub_->Call("POST", "/api/v1/playgrounds/" + *id_ + "/tokens", R"({"role":"viewer"})", *owner_token_);
  ASSERT_EQ(r.status, 201);
  std::string url = Str(r.json, "url");
  ASSERT_NE(url.find("/p/" + *id_ + "/?token="), std::string::npos) << url;
  std::string token = Str(r.json, "token");
  auto link = hub_->Call("GET", "/p/" + *id_ + "/?token=" + token, "", "-");
  EXPECT_EQ(link.status, 302);
  std::string cookie = link.Header("Set-Cookie");
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite"), std::string::npos);
  std::string pair = cookie.substr(0, cookie.find(';'));
  auto read = hub_->Call("GET", "/p/" + *id_ + "/files/note.txt", "", "-", {{"Cookie", pair}});
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(hub_->Call("PUT", "/p/" + *id_ + "/files/note.txt", "x", "-", {{"Cookie", pair}}).status, 403);
  // A wrong token in a share link is refused.
  EXPECT_EQ(hub_->Call("GET", "/p/" + *id_ + "/?token=pgt_wrong", "", "-").status, 401);
}

TEST_F(AccessTest, RevokedTokenClosesOpenConnections) {
  auto [editor, editor_id] = NewToken("editor");
  auto [viewer, viewer_id] = NewToken("viewer");
  WsClient ews, vws, keep;
  ASSERT_TRUE(ews.Connect(hub_->url(), "/p/" + *id_ + "/workspace", Bearer(editor)));
  ASSERT_TRUE(vws.Connect(hub_->url(), "/p/" + *id_ + "/workspace", Bearer(viewer)));
  ASSERT_TRUE(keep.Connect(hub_->url(), "/p/" + *id_ + "/workspace", Bearer(*owner_token_)));
  ASSERT_TRUE(ews.Read());  // welcome
  ASSERT_TRUE(vws.Read());
  ASSERT_TRUE(keep.Read());
  std::string tokens = "/api/v1/playgrounds/" + *id_ + "/tokens/";
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(hub_->Call("DELETE", tokens + editor_id).status, 204);
  ASSERT_EQ(hub_->Call("DELETE", tokens + viewer_id).status, 204);
  // Frames already on their way (e.g. the others joining) may come first;
  // then the connection must close.
  for (WsClient* ws : {&ews, &vws}) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < until && ws->Read(std::chrono::seconds(2))) {
    }
    EXPECT_TRUE(ws->closed());
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  // Other connections stay open; the revoked tokens no longer work.
  ASSERT_TRUE(keep.Send(R"({"type":"list","id":1})"));
  auto tree = keep.Read();
  ASSERT_TRUE(tree);
  EXPECT_NE(tree->find("\"tree\""), std::string::npos);
  EXPECT_EQ(hub_->Call("GET", Files(*id_, "note.txt"), "", editor).status, 401);
  WsClient again;
  int status = 0;
  EXPECT_FALSE(again.Connect(hub_->url(), "/p/" + *id_ + "/workspace", Bearer(editor), &status));
  EXPECT_EQ(status, 401);
  auto list = hub_->Call("GET", "/api/v1/playgrounds/" + *id_ + "/tokens");
  EXPECT_NE(list.body.find("\"revoked_at\":\"20"), std::string::npos) << list.body;
}

// A plain request in flight (a run that takes 20 s) ends with 401 as soon as
// its token is revoked, not when the backend answers.
TEST_F(AccessTest, RevokedTokenEndsARequestInFlight) {
  auto [editor, editor_id] = NewToken("editor");
  std::string revoke = "/api/v1/playgrounds/" + *id_ + "/tokens/" + editor_id;
  int revoked = 0;
  std::thread revoker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    revoked = hub_->Call("DELETE", revoke).status;
  });
  auto t0 = std::chrono::steady_clock::now();
  auto r = hub_->Call("POST", "/api/v1/playgrounds/" + *id_ + "/runs",
                      R"({"language":"python","files":{"slow.py":"import time\ntime.sleep(20)\n"},)"
                      R"("limits":{"wall_ms":30000}})",
                      editor);
  auto took = std::chrono::steady_clock::now() - t0;
  revoker.join();
  EXPECT_EQ(revoked, 204);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.ErrorCode(), "token_revoked") << r.body;
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST_F(AccessTest, WrongOriginIsRefused) {
  std::string authority = hub_->url().substr(7);
  WsClient evil, good;
  int status = 0;
  auto headers = Bearer(*owner_token_);
  headers.emplace_back("Origin", "http://evil.example");
  EXPECT_FALSE(evil.Connect(hub_->url(), "/p/" + *id_ + "/workspace", headers, &status));
  EXPECT_EQ(status, 403);
  headers.back().second = "http://" + authority + ".evil.example";
  EXPECT_FALSE(evil.Connect(hub_->url(), "/p/" + *id_ + "/workspace", headers, &status));
  EXPECT_EQ(status, 403);
  headers.back().second = "http://" + authority;
  EXPECT_TRUE(good.Connect(hub_->url(), "/p/" + *id_ + "/workspace", headers, &status)) << status;
}

TEST(AccessRateTest, ControlPlaneAndRunsAreLimited) {
  TempDir dir;
  setenv("PLAYGROUND_API_RATE", "2:5", 1);
  HubProcess hub(dir.path());
  bool started = hub.Start();
  unsetenv("PLAYGROUND_API_RATE");
  ASSERT_TRUE(started) << hub.log();
  int ok = 0, limited = 0;
  std::string retry;
  for (int i = 0; i < 10; ++i) {
    auto r = hub.Call("GET", "/api/v1/playgrounds");
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      retry = r.Header("Retry-After");
      EXPECT_EQ(r.ErrorCode(), "rate_limited");
    }
  }
  EXPECT_EQ(ok, 5);
  EXPECT_EQ(limited, 5);
  EXPECT_EQ(retry, "1");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_EQ(hub.Call("GET", "/api/v1/playgrounds").status, 200);
}

TEST(AccessRateTest, BadRateSpecRefusedAtStart) {
  TempDir dir;
  setenv("PLAYGROUND_RUN_RATE", "fast", 1);
  HubProcess hub(dir.path());
  bool started = hub.Start();
  unsetenv("PLAYGROUND_RUN_RATE");
  EXPECT_FALSE(started);
}

}  // namespace
}  // namespace pg::testing
