#include "registry/registry.h"

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace pg::registry {
namespace {

Playground Make(const std::string& id, const std::string& owner = "") {
  Playground p;
  p.id = id;
  p.name = "n-" + id;
  p.template_name = "python";
  p.status = kCreating;
  p.owner = owner;
  p.orchestrator = "local";
  p.created_at_ms = p.updated_at_ms = p.last_used_at_ms = NowMs();
  return p;
}

Token TokenFor(const std::string& id) {
  Token t;
  t.hash = "h-" + id;
  t.playground_id = id;
  t.role = "owner";
  t.created_at_ms = NowMs();
  return t;
}

TEST(Registry, CreateGetStatusResourcesDeleteSurviveReopen) {
  testing::TempDir dir;
  std::string path = dir.path() + "/registry.db";
  {
    auto r = Registry::Open(path);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ((*r)->schema_version(), 2);
    ASSERT_TRUE((*r)->Create(Make("a"), TokenFor("a")).ok());
    ASSERT_TRUE((*r)->SetStatus("a", kRunning).ok());
    ASSERT_TRUE((*r)->SetResource("a", "task.arn", "arn:aws:ecs:x").ok());
    ASSERT_TRUE((*r)->SetResource("a", "uid", "200123").ok());
  }
  auto r = Registry::Open(path);
  ASSERT_TRUE(r.ok());
  auto p = (*r)->Get("a");
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(p->has_value());
  EXPECT_EQ((*p)->status, kRunning);
  EXPECT_EQ((*p)->resources.at("task.arn"), "arn:aws:ecs:x");
  EXPECT_EQ((*p)->resources.at("uid"), "200123");
  auto t = (*r)->FindToken("h-a");
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((*t)->role, "owner");
  ASSERT_TRUE((*r)->Delete("a").ok());
  EXPECT_FALSE((*r)->Get("a")->has_value());
  EXPECT_FALSE((*r)->FindToken("h-a")->has_value());
}

TEST(Registry, DuplicateIdIsRejectedAtomically) {
  testing::TempDir dir;
  auto r = Registry::Open(dir.path() + "/r.db");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->Create(Make("a"), TokenFor("a")).ok());
  Token other = TokenFor("b");
  EXPECT_FALSE((*r)->Create(Make("a"), other).ok());
  // The failed transaction left no token behind.
  EXPECT_FALSE((*r)->FindToken(other.hash)->has_value());
}

TEST(Registry, PaginatesInInsertionOrderAndFiltersByOwner) {
  testing::TempDir dir;
  auto r = Registry::Open(dir.path() + "/r.db");
  ASSERT_TRUE(r.ok());
  for (int i = 0; i < 7; ++i) {
    std::string id = "p" + std::to_string(i);
    ASSERT_TRUE((*r)->Create(Make(id, i % 2 ? "u1" : ""), TokenFor(id)).ok());
  }
  auto page1 = (*r)->List(0, 3, "", true);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 3u);
  EXPECT_EQ((*page1)[0].id, "p0");
  auto page2 = (*r)->List(page1->back().seq, 3, "", true);
  ASSERT_EQ(page2->size(), 3u);
  EXPECT_EQ((*page2)[0].id, "p3");
  auto page3 = (*r)->List(page2->back().seq, 3, "", true);
  ASSERT_EQ(page3->size(), 1u);
  auto mine = (*r)->List(0, 100, "u1", false);
  ASSERT_EQ(mine->size(), 3u);
  for (const auto& p : *mine) EXPECT_EQ(p.owner, "u1");
}

TEST(Registry, RevokedTokensStayRevoked) {
  testing::TempDir dir;
  auto r = Registry::Open(dir.path() + "/r.db");
  ASSERT_TRUE((*r)->Create(Make("a"), TokenFor("a")).ok());
  EXPECT_TRUE(*(*r)->RevokeToken("h-a"));
  EXPECT_FALSE(*(*r)->RevokeToken("h-a"));
  EXPECT_NE((*(*r)->FindToken("h-a"))->revoked_at_ms, 0);
}

TEST(Registry, RefusesNewerSchema) {
  testing::TempDir dir;
  std::string path = dir.path() + "/r.db";
  { ASSERT_TRUE(Registry::Open(path).ok()); }
  {
    // Pretend a newer binary migrated it.
    auto r = Registry::Open(path);
    ASSERT_TRUE(r.ok());
  }
  std::string cmd = "sqlite3 " + path + " 'PRAGMA user_version=99'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto r = Registry::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("newer"), std::string::npos);
}

}  // namespace
}  // namespace pg::registry
