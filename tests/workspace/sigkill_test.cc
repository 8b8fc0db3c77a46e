// SIGKILL during editing loses at most the updates accepted in the last
// 200 ms (docs/protocol-workspace.md, "Persistence and loss bound").
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>

#include <filesystem>
#include <thread>

#include "testing/testing.h"
#include "ws_support.h"

namespace pg::wstest {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(SigkillTest, LossIsBoundedBy200ms) {
  for (int round = 0; round < 3; ++round) {
    testing::TempDir tmp;
    std::string root = tmp.path() + "/root";
    std::filesystem::create_directories(root);
    WriteFile(root + "/log.txt", "");
    std::string sock = tmp.path() + "/ws.sock";
    ServerProcess server(root, sock);  // the default save delay (100 ms)
    WsClient c(sock);
    c.Send(R"({"type":"open","id":1,"path":"log.txt"})");
    ASSERT_TRUE(c.Expect("doc"));
    std::vector<Clock::time_point> acked;  // ack time of edit i
    size_t len = 0;
    auto start = Clock::now();
    auto kill_after = 700ms + round * 350ms;
    while (Clock::now() - start < kill_after) {
      std::string line = "edit " + std::to_string(acked.size()) + "\n";
      json::array changes;
      if (len) changes.push_back(len);
      changes.push_back(json::array{0, json::string("edit " + std::to_string(acked.size())), ""});
      c.Send(json::object{{"type", "push"},
                          {"id", acked.size()},
                          {"path", "log.txt"},
                          {"version", acked.size()},
                          {"updates", json::array{json::object{{"clientID", "k"}, {"changes", changes}}}}});
      auto p = c.Expect("pushed");
      ASSERT_TRUE(p);
      ASSERT_TRUE((*p)["accepted"].as_bool());
      acked.push_back(Clock::now());
      len += line.size();
      std::this_thread::sleep_for(1ms);
    }
    auto killed_at = Clock::now();
    server.Kill(SIGKILL);
    std::string disk = ReadFile(root + "/log.txt");
    // The file is a prefix of the edits, whole lines only.
    size_t lines = 0;
    std::string want;
    while (want.size() < disk.size()) want += "edit " + std::to_string(lines++) + "\n";
    ASSERT_EQ(disk, want) << "the file is not a prefix of the acknowledged edits";
    size_t must_have = 0;
    for (size_t i = 0; i < acked.size(); ++i)
      if (acked[i] <= killed_at - 200ms) must_have = i + 1;
    EXPECT_GE(lines, must_have) << "lost edits acknowledged more than 200 ms before the kill";
    auto lost_ms = lines < acked.size() ? std::chrono::duration_cast<std::chrono::milliseconds>(killed_at - acked[lines]).count() : 0;
    std::cerr << "round " << round << ": " << acked.size() << " edits acknowledged, " << lines
              << " on disk; oldest lost edit acknowledged " << lost_ms << " ms before the kill\n";
  }
}

}  // namespace
}  // namespace pg::wstest
