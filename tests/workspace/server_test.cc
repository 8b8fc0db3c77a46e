// The workspace server as a process: REST, the WebSocket protocol, disk
// changes, persistence, presence and every kind of bad input.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <boost/json.hpp>

#include <filesystem>
#include <thread>

#include "testing/testing.h"
#include "ws_support.h"

namespace pg::wstest {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/root";
    std::filesystem::create_directories(root_);
    sock_ = tmp_.path() + "/ws.sock";
  }
  void Start(std::vector<std::string> args = {}) { server_ = std::make_unique<ServerProcess>(root_, sock_, args); }
  std::string P(const std::string& rel) { return root_ + "/" + rel; }

  // Opens `path` and returns the doc reply.
  json::object Open(WsClient& c, const std::string& path, int id = 1) {
    c.Send(json::object{{"type", "open"}, {"id", id}, {"path", path}});
    auto d = c.Expect("doc");
    EXPECT_TRUE(d) << "no doc reply";
    return d ? *d : json::object{};
  }

  testing::TempDir tmp_;
  std::string root_, sock_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ServerTest, RestFiles) {
  Start();
  EXPECT_EQ(Http(sock_, "GET", "/healthz").first, 200);
  std::string bin("\x00\x01\xFF\xFEzz", 6);
  EXPECT_EQ(Http(sock_, "PUT", "/files/a/b/c.bin", bin).first, 204);
  EXPECT_EQ(ReadFile(P("a/b/c.bin")), bin);
  auto got = Http(sock_, "GET", "/files/a/b/c.bin");
  EXPECT_EQ(got.first, 200);
  EXPECT_EQ(got.second, bin);
  EXPECT_EQ(Http(sock_, "GET", "/files/a%2Fb%2Fc.bin").second, bin);
  auto tree = Http(sock_, "GET", "/files/");
  ASSERT_EQ(tree.first, 200);
  auto entries = json::parse(tree.second).at("entries").as_array();
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].at("path").as_string(), "a");
  EXPECT_EQ(entries[0].at("type").as_string(), "dir");
  EXPECT_EQ(entries[2].at("path").as_string(), "a/b/c.bin");
  EXPECT_EQ(entries[2].at("size").as_int64(), 6);
  EXPECT_GT(entries[2].at("mtime").as_int64(), 1600000000000);
  EXPECT_EQ(Http(sock_, "GET", "/files/nope").first, 404);
  EXPECT_EQ(Http(sock_, "DELETE", "/files/a").first, 204);
  EXPECT_FALSE(std::filesystem::exists(P("a")));
  EXPECT_EQ(Http(sock_, "DELETE", "/files/a").first, 404);
}

TEST_F(ServerTest, RestRefusesEscapes) {
  std::filesystem::create_directories(tmp_.path() + "/outside");
  WriteFile(tmp_.path() + "/outside/secret", "s3cret");
  std::filesystem::create_directory_symlink(tmp_.path() + "/outside", P("link"));
  Start();
  for (std::string t : {"/files/../outside/secret", "/files/%2E%2E/outside/secret", "/files/link/secret",
                        "/files/a/../../outside/secret"}) {
    auto r = Http(sock_, "GET", t);
    EXPECT_EQ(r.first, 400) << t << " " << r.second;
    EXPECT_EQ(r.second.find("s3cret"), std::string::npos);
  }
  EXPECT_EQ(Http(sock_, "PUT", "/files/link/x", "x").first, 400);
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/outside/x"));
  EXPECT_EQ(Http(sock_, "DELETE", "/files/link/secret").first, 400);
  EXPECT_TRUE(std::filesystem::exists(tmp_.path() + "/outside/secret"));
}

TEST_F(ServerTest, RestSizeLimit) {
  Start({"--max-file-bytes", "1000"});
  EXPECT_EQ(Http(sock_, "PUT", "/files/x", std::string(1000, 'a')).first, 204);
  EXPECT_EQ(Http(sock_, "PUT", "/files/y", std::string(1001, 'a')).first, 413);
  EXPECT_FALSE(std::filesystem::exists(P("y")));
}

TEST_F(ServerTest, FileOpsOverWebSocketAreBroadcast) {
  Start();
  WsClient a(sock_), b(sock_);
  a.Send(R"({"type":"create","id":1,"path":"src/main.py","kind":"file","text":"print(1)\n"})");
  auto fs = b.Expect("fs");
  ASSERT_TRUE(fs);
  EXPECT_NE(json::serialize(*fs).find("src/main.py"), std::string::npos);
  auto ok = a.Expect("ok");
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["id"].as_int64(), 1);
  EXPECT_EQ(ReadFile(P("src/main.py")), "print(1)\n");
  a.Send(R"({"type":"create","id":2,"path":"src/main.py"})");
  auto err = a.Expect("error");
  ASSERT_TRUE(err);
  EXPECT_EQ((*err)["code"].as_string(), "exists");
  a.Send(R"({"type":"write","id":3,"path":"img.bin","base64":"AAH/"})");
  ASSERT_TRUE(a.Expect("ok"));
  EXPECT_EQ(ReadFile(P("img.bin")), std::string("\x00\x01\xFF", 3));
  a.Send(R"({"type":"read","id":4,"path":"img.bin"})");
  auto f = a.Expect("file");
  ASSERT_TRUE(f);
  EXPECT_EQ((*f)["base64"].as_string(), "AAH/");
  a.Send(R"({"type":"rename","id":5,"from":"src","to":"lib/src2"})");
  ASSERT_TRUE(a.Expect("ok"));
  EXPECT_EQ(ReadFile(P("lib/src2/main.py")), "print(1)\n");
  a.Send(R"({"type":"create","id":6,"path":"d/e","kind":"dir"})");
  ASSERT_TRUE(a.Expect("ok"));
  EXPECT_TRUE(std::filesystem::is_directory(P("d/e")));
  a.Send(R"({"type":"delete","id":7,"path":"lib"})");
  ASSERT_TRUE(a.Expect("ok"));
  EXPECT_FALSE(std::filesystem::exists(P("lib")));
  a.Send(R"({"type":"list","id":8})");
  auto tree = a.Expect("tree");
  ASSERT_TRUE(tree);
  EXPECT_EQ((*tree)["entries"].as_array().size(), 3u);  // d, d/e, img.bin
  // b saw every change.
  std::string all;
  while (auto m = b.Recv(300ms)) all += *m;
  EXPECT_NE(all.find("lib/src2/main.py"), std::string::npos);
  EXPECT_NE(all.find(R"({"op":"delete","path":"lib"})"), std::string::npos);
  EXPECT_NE(all.find(R"({"op":"delete","path":"src"})"), std::string::npos);
}

TEST_F(ServerTest, EditsAreBroadcastInOrderAndOldVersionsRefused) {
  WriteFile(P("doc.txt"), "hello\n");
  Start({"--save-delay-ms", "20"});
  WsClient a(sock_), b(sock_);
  auto da = Open(a, "doc.txt");
  EXPECT_EQ(da["text"].as_string(), "hello\n");
  EXPECT_EQ(da["version"].as_int64(), 0);
  EXPECT_EQ(da["lineSep"].as_string(), "\n");
  Open(b, "doc.txt");
  a.Send(R"({"type":"push","id":2,"path":"doc.txt","version":0,"updates":[{"clientID":"A","changes":[5,[0," world"],1]}]})");
  auto ua = a.Expect("updates");  // the sender gets its own update too
  ASSERT_TRUE(ua);
  EXPECT_EQ((*ua)["version"].as_int64(), 0);
  auto pa = a.Expect("pushed");
  ASSERT_TRUE(pa);
  EXPECT_TRUE((*pa)["accepted"].as_bool());
  EXPECT_EQ((*pa)["version"].as_int64(), 1);
  auto ub = b.Expect("updates");
  ASSERT_TRUE(ub);
  EXPECT_EQ(json::serialize((*ub)["updates"]), R"([{"clientID":"A","changes":[5,[0," world"],1]}])");
  // b pushes at the old version: refused, nothing applied.
  b.Send(R"({"type":"push","id":3,"path":"doc.txt","version":0,"updates":[{"clientID":"B","changes":[[6]]}]})");
  auto pb = b.Expect("pushed");
  ASSERT_TRUE(pb);
  EXPECT_FALSE((*pb)["accepted"].as_bool());
  EXPECT_EQ((*pb)["version"].as_int64(), 1);
  // Rebased by the client: accepted.
  b.Send(R"({"type":"push","id":4,"path":"doc.txt","version":1,"updates":[{"clientID":"B","changes":[[5,"HELLO"],7]},{"clientID":"B","changes":[12,[0,"!"]]}]})");
  pb = b.Expect("pushed");
  ASSERT_TRUE(pb);
  EXPECT_TRUE((*pb)["accepted"].as_bool());
  EXPECT_EQ((*pb)["version"].as_int64(), 3);
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(P("doc.txt")) == "HELLO world\n!"; }, 2s)) << ReadFile(P("doc.txt"));
  // A version from the future.
  b.Send(R"({"type":"push","id":5,"path":"doc.txt","version":9,"updates":[]})");
  auto e = b.Expect("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"].as_string(), "bad_version");
  // Re-open with a known version: only the missing updates come.
  WsClient c(sock_);
  c.Send(R"({"type":"open","id":1,"path":"doc.txt","version":1})");
  auto dc = c.Expect("doc");
  ASSERT_TRUE(dc);
  EXPECT_TRUE((*dc)["text"].is_null());
  auto uc = c.Expect("updates");
  ASSERT_TRUE(uc);
  EXPECT_EQ((*uc)["version"].as_int64(), 1);
  EXPECT_EQ((*uc)["updates"].as_array().size(), 2u);
}

TEST_F(ServerTest, BadChangesAreRefusedWithoutTouchingTheDocument) {
  WriteFile(P("d.txt"), "ab\xF0\x9F\x98\x80" "cd");  // "ab😀cd": 6 units
  Start();
  WsClient a(sock_), b(sock_);
  Open(a, "d.txt");
  Open(b, "d.txt");
  auto bad = [&](const std::string& changes, const std::string& code) {
    a.Send(R"({"type":"push","id":9,"path":"d.txt","version":0,"updates":[{"clientID":"A","changes":)" + changes +
           "}]}");
    auto e = a.Expect("error");
    ASSERT_TRUE(e) << changes;
    EXPECT_EQ((*e)["code"].as_string(), code) << changes;
    EXPECT_EQ((*e)["id"].as_int64(), 9);
  };
  bad("[5]", "bad_changes");                 // too short
  bad("[7]", "bad_changes");                 // too long
  bad(R"([3,[0,"x"],3])", "bad_changes");    // splits the pair
  bad(R"([[0,"a\r\nb"],6])", "bad_changes");  // CR in a line
  bad(R"({"x":1})", "bad_changes");
  bad(R"([-3])", "bad_changes");
  // A valid update followed by a bad one: neither is applied.
  a.Send(R"({"type":"push","id":10,"path":"d.txt","version":0,"updates":[{"clientID":"A","changes":[[0,"ok"],6]},{"clientID":"A","changes":[3]}]})");
  auto e = a.Expect("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"].as_string(), "bad_changes");
  EXPECT_FALSE(b.Recv(200ms).has_value());  // b saw nothing
  a.Send(R"({"type":"push","id":11,"path":"d.txt","version":0,"updates":[{"clientID":"A","changes":[6,[0,"!"]]}]})");
  auto p = a.Expect("pushed");
  ASSERT_TRUE(p);
  EXPECT_TRUE((*p)["accepted"].as_bool());
  EXPECT_EQ((*p)["version"].as_int64(), 1);
}

TEST_F(ServerTest, MalformedMessagesGetErrorsAndTheConnectionStays) {
  WriteFile(P("d.txt"), "x");
  Start();
  WsClient a(sock_), b(sock_);
  Open(b, "d.txt");
  struct Case {
    std::string msg, code;
  } cases[] = {
      {"not json", "malformed_json"},
      {"[1,2]", "malformed_json"},
      {R"({"type":"frobnicate"})", "unknown_type"},
      {R"({"id":1})", "invalid_value"},
      {R"({"type":"open","path":"d.txt","bogus":1})", "unknown_field"},
      {R"({"type":"open","path":5})", "invalid_type"},
      {R"({"type":"open","path":"../etc/passwd"})", "invalid_path"},
      {R"({"type":"open","path":"/etc/passwd"})", "invalid_path"},
      {R"({"type":"push","path":"d.txt","version":0,"updates":[]})", "not_open"},
      {R"({"type":"read","path":"nope"})", "not_found"},
      {R"({"type":"write","path":"x","base64":"@@@"})", "invalid_value"},
      {R"({"type":"hello","name":""})", "invalid_value"},
  };
  for (const auto& c : cases) {
    a.Send(c.msg);
    auto e = a.Expect("error");
    ASSERT_TRUE(e) << c.msg;
    EXPECT_EQ((*e)["code"].as_string(), c.code) << c.msg << " " << json::serialize(*e);
  }
  // b is unaffected and a still works.
  EXPECT_FALSE(b.Recv(100ms).has_value());
  Open(a, "d.txt");
}

TEST_F(ServerTest, DocumentLimits) {
  WriteFile(P("big.txt"), std::string(2000, 'a'));
  WriteFile(P("small.txt"), std::string(900, 'a'));
  WriteFile(P("bin.dat"), std::string("\xFF\xFE\x00", 3));
  Start({"--max-file-bytes", "1000", "--max-open-docs", "3"});
  WsClient a(sock_);
  a.Send(R"({"type":"open","id":1,"path":"big.txt"})");
  auto e = a.Expect("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"].as_string(), "doc_too_large");
  a.Send(R"({"type":"open","id":2,"path":"bin.dat"})");
  e = a.Expect("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"].as_string(), "not_text");
  Open(a, "small.txt");
  a.Send(R"({"type":"push","id":3,"path":"small.txt","version":0,"updates":[{"clientID":"A","changes":[900,[0,")" +
         std::string(200, 'b') + R"("]]}]})");
  e = a.Expect("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"].as_string(), "doc_too_large");
  Open(a, "n1.txt");
  Open(a, "n2.txt");
  a.Send(R"({"type":"open","id":4,"path":"n3.txt"})");
  e = a.Expect("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"].as_string(), "too_many_documents");
}

TEST_F(ServerTest, CrlfFilesStayCrlf) {
  WriteFile(P("win.txt"), "one\r\ntwo\r\n");
  Start({"--save-delay-ms", "10"});
  WsClient a(sock_);
  auto d = Open(a, "win.txt");
  EXPECT_EQ(d["text"].as_string(), "one\ntwo\n");
  EXPECT_EQ(d["lineSep"].as_string(), "\r\n");
  a.Send(R"({"type":"push","id":2,"path":"win.txt","version":0,"updates":[{"clientID":"A","changes":[8,[0,"three","four"]]}]})");
  ASSERT_TRUE(a.Expect("pushed"));
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(P("win.txt")) == "one\r\ntwo\r\nthree\r\nfour"; }, 2s))
      << ReadFile(P("win.txt"));
}

TEST_F(ServerTest, DiskChangesReachClientsAsServerUpdates) {
  WriteFile(P("main.py"), "print('a')\nprint('b')\n");
  Start({"--save-delay-ms", "10"});
  WsClient a(sock_);
  Open(a, "main.py");
  // A program rewrites main.py (not through the server) and writes out.txt.
  auto t0 = std::chrono::steady_clock::now();
  WriteFile(P("main.py"), "print('a')\nprint('c')\n");
  WriteFile(P("out.txt"), "result");
  auto u = a.Expect("updates", 2s);
  ASSERT_TRUE(u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(json::serialize((*u)["updates"]), R"([{"clientID":"server","changes":[18,[1,"c"],3]}])");
  bool saw_out = false;
  WaitUntil(
      [&] {
        for (auto& m : a.skipped())
          if (json::serialize(m).find("out.txt") != std::string::npos) saw_out = true;
        if (!saw_out) a.Recv(50ms);
        for (auto& m : a.skipped())
          if (json::serialize(m).find("out.txt") != std::string::npos) saw_out = true;
        return saw_out;
      },
      1s);
  EXPECT_TRUE(saw_out);
  // REST writes update the open document too.
  EXPECT_EQ(Http(sock_, "PUT", "/files/main.py", "x\n").first, 204);
  u = a.Expect("updates", 2s);
  ASSERT_TRUE(u);
  EXPECT_EQ((*u)["version"].as_int64(), 1);
  // The server's own saves are not echoed as updates.
  a.Send(R"({"type":"push","id":2,"path":"main.py","version":2,"updates":[{"clientID":"A","changes":[2,[0,"y"]]}]})");
  ASSERT_TRUE(a.Expect("pushed"));
  ASSERT_TRUE(WaitUntil([&] { return ReadFile(P("main.py")) == "x\ny"; }, 2s));
  std::this_thread::sleep_for(300ms);
  while (auto m = a.Recv(100ms)) EXPECT_EQ(m->find("\"updates\""), std::string::npos) << *m;
  // Deleting the file closes the document.
  std::filesystem::remove(P("main.py"));
  auto closed = a.Expect("closed", 2s);
  ASSERT_TRUE(closed);
  EXPECT_EQ((*closed)["reason"].as_string(), "deleted");
}

TEST_F(ServerTest, PresenceIsBroadcastAndDroppedOnLeave) {
  WriteFile(P("p.txt"), "abcdef");
  Start();
  WsClient a(sock_), b(sock_);
  a.Send(R"({"type":"hello","id":1,"name":"Ada","color":"#e06c75"})");
  ASSERT_TRUE(a.Expect("ok"));
  Open(a, "p.txt");
  Open(b, "p.txt");
  a.Send(R"({"type":"presence","path":"p.txt","version":0,"ranges":[{"anchor":1,"head":3}]})");
  auto p = b.Expect("presence");
  ASSERT_TRUE(p);
  EXPECT_EQ((*p)["name"].as_string(), "Ada");
  EXPECT_EQ((*p)["color"].as_string(), "#e06c75");
  EXPECT_EQ((*p)["client"].as_int64(), static_cast<int64_t>(a.client_id()));
  EXPECT_EQ(json::serialize((*p)["ranges"]), R"([{"anchor":1,"head":3}])");
  // A late joiner gets the current presence after the doc.
  WsClient c(sock_);
  Open(c, "p.txt");
  auto pc = c.Expect("presence");
  ASSERT_TRUE(pc);
  EXPECT_EQ((*pc)["name"].as_string(), "Ada");
  a.Send(R"({"type":"presence","path":"p.txt","ranges":[{"anchor":"x","head":3}]})");
  auto e = a.Expect("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"].as_string(), "invalid_type");
  a.Close();
  auto left = b.Expect("presence");
  ASSERT_TRUE(left);
  EXPECT_TRUE((*left)["left"].as_bool());
}

TEST_F(ServerTest, FloodIsRateLimitedThenClosed) {
  Start({"--rate-limit", "50"});
  WsClient a(sock_), b(sock_);
  for (int i = 0; i < 400; ++i) a.Send(R"({"type":"list"})");
  bool limited = false;
  while (auto m = a.Recv(2s)) {
    if (m->find("rate_limited") != std::string::npos) limited = true;
  }
  EXPECT_TRUE(limited);
  EXPECT_TRUE(a.closed());
  EXPECT_EQ(a.close_code(), 1008);
  // Another client is fine.
  b.Send(R"({"type":"list","id":1})");
  EXPECT_TRUE(b.Expect("tree"));
}

TEST_F(ServerTest, FrameLimitsAndBinaryFrames) {
  Start({"--max-message-bytes", "4096"});
  {
    WsClient a(sock_);
    a.Send(std::string(5000, ' '));
    EXPECT_FALSE(a.Recv(2s));
    EXPECT_TRUE(a.closed());
    EXPECT_EQ(a.close_code(), 1009);
  }
  {
    WsClient a(sock_);
    a.SendBinary("{}");
    EXPECT_FALSE(a.Recv(2s));
    EXPECT_TRUE(a.closed());
    EXPECT_EQ(a.close_code(), 1002);
  }
  EXPECT_EQ(Http(sock_, "GET", "/healthz").first, 200);
}

TEST_F(ServerTest, SigtermFlushesDocuments) {
  WriteFile(P("s.txt"), "");
  Start({"--save-delay-ms", "60000"});
  WsClient a(sock_);
  Open(a, "s.txt");
  a.Send(R"({"type":"push","id":2,"path":"s.txt","version":0,"updates":[{"clientID":"A","changes":[[0,"saved"]]}]})");
  ASSERT_TRUE(a.Expect("pushed"));
  EXPECT_EQ(ReadFile(P("s.txt")), "");
  int status = server_->Kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(ReadFile(P("s.txt")), "saved");
}

TEST_F(ServerTest, CloseOfLastClientSaves) {
  std::filesystem::create_directories(P("new"));
  Start({"--save-delay-ms", "60000"});
  WsClient a(sock_), b(sock_);
  auto d = Open(a, "new/file.txt");  // missing: an empty document, created on save
  EXPECT_EQ(d["text"].as_string(), "");
  Open(b, "new/file.txt");
  a.Send(R"({"type":"push","id":2,"path":"new/file.txt","version":0,"updates":[{"clientID":"A","changes":[[0,"x"]]}]})");
  ASSERT_TRUE(a.Expect("pushed"));
  a.Send(R"({"type":"close","id":3,"path":"new/file.txt"})");
  ASSERT_TRUE(a.Expect("ok"));
  EXPECT_FALSE(std::filesystem::exists(P("new/file.txt")));  // b still has it open
  b.Send(R"({"type":"close","id":3,"path":"new/file.txt"})");
  ASSERT_TRUE(b.Expect("ok"));
  EXPECT_EQ(ReadFile(P("new/file.txt")), "x");
  a.Send(R"({"type":"push","id":4,"path":"new/file.txt","version":1,"updates":[]})");
  auto e = a.Expect("error");
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["code"].as_string(), "not_open");
}

}  // namespace
}  // namespace pg::wstest
