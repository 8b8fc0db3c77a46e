// The client commands against a real hub: create, ls, show, put, get, stop,
// start, rm, in table and JSON form, with the token found in the data dir.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>

#include "testing/hub_process.h"
#include "testing/testing.h"

namespace pg::testing {
namespace {

struct Out {
  int status = -1;
  std::string text;
};

Out Cmd(const std::string& args, const std::string& input = "") {
  std::string cmd = PlaygroundBinary() + " " + args + " 2>&1";
  if (!input.empty()) cmd = "printf '%s' '" + input + "' | " + cmd;
  Out out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.text.append(buf.data(), n);
  int st = pclose(p);
  out.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

TEST(Cli, LifecycleThroughTheCommands) {
  TempDir dir;
  HubProcess hub(dir.path());
  ASSERT_TRUE(hub.Start()) << hub.log();
  std::string common = " --hub " + hub.url() + " --data-dir " + dir.path();

  Out created = Cmd("create --template python --name from-cli --json" + common);
  ASSERT_EQ(created.status, 0) << created.text;
  auto v = boost::json::parse(created.text);
  std::string id(v.at("id").as_string());
  EXPECT_EQ(v.at("status"), "running");
  EXPECT_EQ(v.at("name"), "from-cli");

  Out table = Cmd("ls" + common);
  ASSERT_EQ(table.status, 0) << table.text;
  EXPECT_NE(table.text.find("ID"), std::string::npos);
  EXPECT_NE(table.text.find(id), std::string::npos);
  EXPECT_NE(table.text.find("from-cli"), std::string::npos);
  Out json = Cmd("ls --json" + common);
  ASSERT_EQ(json.status, 0);
  EXPECT_EQ(boost::json::parse(json.text).as_array().size(), 1u);

  EXPECT_EQ(Cmd("put " + id + " notes/hello.txt" + common, "hi there").status, 0);
  Out got = Cmd("get " + id + " notes/hello.txt" + common);
  EXPECT_EQ(got.status, 0);
  EXPECT_EQ(got.text, "hi there");

  Out show = Cmd("show " + id + common);
  EXPECT_EQ(show.status, 0);
  EXPECT_NE(show.text.find("running"), std::string::npos) << show.text;
  EXPECT_NE(Cmd("stop " + id + common).text.find("stopped"), std::string::npos);
  EXPECT_NE(Cmd("start " + id + common).text.find("running"), std::string::npos);
  EXPECT_EQ(Cmd("rm " + id + common).status, 0);

  // Errors are messages and a non-zero exit, not crashes.
  Out missing = Cmd("show " + id + common);
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.text.find("no such playground"), std::string::npos) << missing.text;
  Out bad_token = Cmd("ls --hub " + hub.url() + " --token nope");
  EXPECT_EQ(bad_token.status, 1);
  EXPECT_NE(bad_token.text.find("401"), std::string::npos) << bad_token.text;
  Out no_hub = Cmd("ls --hub http://127.0.0.1:1 --token x");
  EXPECT_EQ(no_hub.status, 1);
}

}  // namespace
}  // namespace pg::testing
