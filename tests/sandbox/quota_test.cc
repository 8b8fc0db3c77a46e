// Quota volumes: an ext4 image on a loop device mounted at the volume dir.
#include "sandbox/quota.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "sandbox_testing.h"
#include "testing/testing.h"

namespace pg::sandbox {
namespace {

// Writes `bytes` of zeros to `path`; returns the errno of the first failure.
int WriteZeros(const std::string& path, int64_t bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  std::string chunk(1 << 20, '\0');
  int err = 0;
  for (int64_t done = 0; done < bytes && !err; done += chunk.size())
    if (write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) err = errno ? errno : EIO;
  if (!err && fsync(fd) != 0) err = errno;
  close(fd);
  return err;
}

class QuotaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    vol_ = dir_.path() + "/vol";
    ASSERT_EQ(mkdir(vol_.c_str(), 0755), 0);
    ASSERT_EQ(chown(vol_.c_str(), 65534, 65534), 0);
  }
  void TearDown() override { (void)DestroyQuotaVolume(vol_); }
  pg::testing::TempDir dir_;
  std::string vol_;
};

TEST_F(QuotaTest, EnforcesTheSize) {
  auto st = CreateQuotaVolume(vol_, 32ll << 20);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(st->enforced) << st->detail;
  EXPECT_TRUE(IsQuotaVolume(vol_));
  struct stat s;
  ASSERT_EQ(stat(vol_.c_str(), &s), 0);
  EXPECT_EQ(s.st_uid, 65534u) << "the root keeps the directory's owner";
  EXPECT_NE(access((vol_ + "/lost+found").c_str(), F_OK), 0);
  EXPECT_EQ(WriteZeros(vol_ + "/small", 8 << 20), 0);
  EXPECT_EQ(WriteZeros(vol_ + "/big", 40 << 20), ENOSPC);
  // The host's file system is not affected.
  EXPECT_EQ(WriteZeros(dir_.path() + "/outside", 40 << 20), 0);
}

TEST_F(QuotaTest, SandboxedWritesHitTheQuota) {
  auto st = CreateQuotaVolume(vol_, 16ll << 20);
  ASSERT_TRUE(st.ok() && st->enforced);
  Spec s = testing::Shell("head -c 30000000 /dev/zero > /workspace/f; echo rc=$?");
  s.mounts.push_back({vol_, "/workspace", true});
  s.host_uid = 65534;
  s.host_gid = 65534;
  auto r = testing::RunSandbox(s);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_NE(r->err.find("No space left"), std::string::npos) << r->out << r->err;
}

TEST_F(QuotaTest, DataSurvivesRemount) {
  ASSERT_TRUE(CreateQuotaVolume(vol_, 16ll << 20).ok());
  std::ofstream(vol_ + "/keep") << "data";
  ASSERT_EQ(umount2(vol_.c_str(), 0), 0);  // e.g. a host restart
  EXPECT_FALSE(IsQuotaVolume(vol_));
  auto again = CreateQuotaVolume(vol_, 16ll << 20);
  ASSERT_TRUE(again.ok() && again->enforced);
  std::ifstream in(vol_ + "/keep");
  std::string s;
  in >> s;
  EXPECT_EQ(s, "data");
  // Idempotent while mounted.
  EXPECT_TRUE(CreateQuotaVolume(vol_, 16ll << 20).ok());
}

TEST_F(QuotaTest, DestroyRemovesEverything) {
  ASSERT_TRUE(CreateQuotaVolume(vol_, 16ll << 20).ok());
  ASSERT_TRUE(DestroyQuotaVolume(vol_).ok());
  EXPECT_FALSE(IsQuotaVolume(vol_));
  EXPECT_NE(access((vol_ + ".ext4").c_str(), F_OK), 0);
  EXPECT_TRUE(DestroyQuotaVolume(vol_).ok()) << "missing volumes are fine";
}

TEST_F(QuotaTest, BadInput) {
  EXPECT_EQ(CreateQuotaVolume("relative", 16ll << 20).error().status, 400);
  EXPECT_EQ(CreateQuotaVolume(vol_, 1024).error().status, 400);
  EXPECT_EQ(CreateQuotaVolume(dir_.path() + "/missing", 16ll << 20).error().status, 400);
  EXPECT_EQ(DestroyQuotaVolume("relative").error().status, 400);
}

}  // namespace
}  // namespace pg::sandbox
