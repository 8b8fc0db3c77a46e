// Wire formats of the docker orchestrator, checked against real tools: the
// tar archives it seeds volumes with are extracted by GNU tar, the container
// configuration is checked field by field. No engine needed.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "common/fs.h"
#include "orchestrator/docker/docker_api.h"
#include "orchestrator/docker/docker_spec.h"
#include "testing/testing.h"

namespace pg::orchestrator::docker {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(DockerTar, GnuTarExtractsFilesDirectoriesAndOwners) {
  pg::testing::TempDir dir;
  std::string long_dir(90, 'd');
  std::vector<std::pair<std::string, std::string>> files = {
      {"main.py", "print('hi')\n"},
      {"src/lib/util.h", std::string(1000, 'x')},
      {"empty.txt", ""},
      {long_dir + "/" + std::string(60, 'f') + ".txt", "long"},
  };
  auto tar = MakeTar(files, 1000, 1000);
  ASSERT_TRUE(tar.ok()) << tar.error().message;
  EXPECT_EQ(tar->size() % 512, 0u);
  {
    std::ofstream out(dir.path() + "/a.tar", std::ios::binary);
    out << *tar;
  }
  std::string listing = dir.path() + "/list.txt";
  ASSERT_EQ(std::system(("tar --numeric-owner -tvf " + dir.path() + "/a.tar > " + listing).c_str()), 0);
  std::string list = ReadAll(listing);
  EXPECT_NE(list.find("1000/1000"), std::string::npos) << list;
  EXPECT_NE(list.find("src/lib/"), std::string::npos) << list;
  EXPECT_EQ(list.find(" 0/0 "), std::string::npos) << list;
  ASSERT_EQ(std::system(("mkdir " + dir.path() + "/x && tar -xf " + dir.path() + "/a.tar -C " + dir.path() + "/x").c_str()), 0);
  for (const auto& [path, content] : files) {
    EXPECT_EQ(ReadAll(dir.path() + "/x/" + path), content) << path;
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() + "/x/src/lib").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(DockerTar, RejectsEscapingAndOverlongPaths) {
  for (const std::string& bad : std::vector<std::string>{"../etc/passwd", "/etc/passwd", "a/../../b", std::string("a\0b", 3)}) {
    auto tar = MakeTar({{bad, "x"}}, 1000, 1000);
    ASSERT_FALSE(tar.ok()) << bad;
    EXPECT_EQ(tar.error().code, "invalid_path") << bad;
  }
  auto too_long = MakeTar({{std::string(120, 'a'), "x"}}, 1000, 1000);  // one component > 100
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code, "invalid_path");
  auto empty = MakeTar({}, 0, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 1024u);  // the two zero end blocks
}

TEST(DockerLogs, DemultiplexesFramesAndToleratesTruncation) {
  auto frame = [](char stream, const std::string& s) {
    std::string h(8, '\0');
    h[0] = stream;
    h[4] = static_cast<char>((s.size() >> 24) & 0xff);
    h[5] = static_cast<char>((s.size() >> 16) & 0xff);
    h[6] = static_cast<char>((s.size() >> 8) & 0xff);
    h[7] = static_cast<char>(s.size() & 0xff);
    return h + s;
  };
  std::string big(70000, 'z');
  std::string raw = frame(1, "out\n") + frame(2, "err\n") + frame(1, big);
  EXPECT_EQ(DemuxLogs(raw), "out\nerr\n" + big);
  EXPECT_EQ(DemuxLogs(raw.substr(0, raw.size() - 10)), "out\nerr\n" + big.substr(0, big.size() - 10));
  EXPECT_EQ(DemuxLogs(""), "");
  EXPECT_EQ(DemuxLogs("abc"), "");  // shorter than a header
  std::string lying = frame(1, "ab");
  lying[7] = 100;  // claims 100 bytes, has 2
  EXPECT_EQ(DemuxLogs(lying), "ab");
}

TEST(DockerApi, UrlEncodeEscapesReserved) {
  EXPECT_EQ(UrlEncode("a-b_c.d~"), "a-b_c.d~");
  EXPECT_EQ(UrlEncode("{\"label\":[\"a=b\"]}"), "%7B%22label%22%3A%5B%22a%3Db%22%5D%7D");
  EXPECT_EQ(UrlEncode("/ &?"), "%2F%20%26%3F");
}

TEST(DockerApi, UnreachableEngineIsAnError) {
  pg::testing::TempDir dir;
  Api api(dir.path() + "/nothing.sock");
  auto r = api.Json(boost::beast::http::verb::get, "/_ping");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "unreachable");
  EXPECT_NE(r.error().message.find("nothing.sock"), std::string::npos);
}

TEST(DockerSpec, ContainerConfigIsLockedDown) {
  DockerConfig config;
  config.data_dir = "/data";
  PlaygroundSpec spec;
  spec.id = "abcdefghijklmnopqrstuvwxyz";
  spec.limits.memory_mb = 512;
  spec.limits.cpu_millis = 1500;
  spec.limits.pids = 100;
  for (std::string role : {"workspace", "runner"}) {
    json::object c = ContainerConfig(config, spec, role);
    EXPECT_EQ(c.at("Image").as_string(), role == "runner" ? config.runner_image : config.workspace_image);
    const std::string uid = std::to_string(ContainerUid(spec.id));
    EXPECT_EQ(c.at("User").as_string(), uid + ":" + uid);
    EXPECT_GE(ContainerUid(spec.id), 200000);
    EXPECT_EQ(c.at("Labels").at("io.playground.id").as_string(), spec.id);
    EXPECT_EQ(c.at("Labels").at("io.playground.role").as_string(), role);
    EXPECT_EQ(c.at("Labels").at("io.playground.managed").as_string(), "true");
    EXPECT_EQ(c.at("Cmd").as_array().at(0).as_string(), role + "-server");
    EXPECT_EQ(c.at("Cmd").as_array().back().as_string(), "unix:/run/playground/" + role + ".sock");
    const auto& h = c.at("HostConfig").as_object();
    EXPECT_EQ(h.at("Memory").as_int64(), 512ll << 20);
    EXPECT_EQ(h.at("MemorySwap").as_int64(), 512ll << 20);
    EXPECT_EQ(h.at("NanoCpus").as_int64(), 1500000000ll);
    EXPECT_EQ(h.at("PidsLimit").as_int64(), 100);
    EXPECT_TRUE(h.at("ReadonlyRootfs").as_bool());
    EXPECT_FALSE(h.at("Privileged").as_bool());
    EXPECT_EQ(json::serialize(h.at("CapDrop")), "[\"ALL\"]");
    EXPECT_EQ(json::serialize(h.at("SecurityOpt")), "[\"no-new-privileges:true\"]");
    EXPECT_EQ(h.at("NetworkMode").as_string(), "none");
    EXPECT_EQ(h.at("RestartPolicy").at("Name").as_string(), "on-failure");
    const auto& mounts = h.at("Mounts").as_array();
    ASSERT_EQ(mounts.size(), 2u);
    EXPECT_EQ(mounts[0].at("Source").as_string(), "playground-" + spec.id);
    EXPECT_EQ(mounts[0].at("Target").as_string(), "/workspace");
    EXPECT_EQ(mounts[1].at("Source").as_string(), "/data/run/" + spec.id);
    EXPECT_EQ(mounts[1].at("Target").as_string(), "/run/playground");
  }
}

}  // namespace
}  // namespace pg::orchestrator::docker
