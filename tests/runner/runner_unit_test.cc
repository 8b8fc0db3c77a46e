// Pieces of the runner that need no server: the request schema, the
// language table, argv templates, UTF-8 repair.
#include <gtest/gtest.h>

#include "runner/languages.h"
#include "runner/request.h"

namespace pg::runner {
namespace {

Result<RunRequest> Parse(std::string_view text, bool ws = false) {
  auto obj = ParseJsonObject(text, false);
  if (!obj.ok()) return obj.error();
  return ParseRunRequest(*obj, RunLimits{}, DefaultMaxima(), ws);
}

TEST(RunRequest, DefaultsAndEntryFromFiles) {
  auto r = Parse(R"({"files":{"b/main.py":"x","a.py":"y"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->entry, "b/main.py");
  EXPECT_EQ(r->files.size(), 2u);
  EXPECT_EQ(r->limits.cpu_ms, 5000);
  EXPECT_EQ(r->limits.output_bytes, 1 << 20);
  r = Parse(R"({"entry":"./x//y.py","limits":{"cpu_ms":100}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entry, "x/y.py");
  EXPECT_EQ(r->limits.cpu_ms, 100);
  EXPECT_EQ(r->limits.wall_ms, 10000);
}

TEST(RunRequest, Errors) {
  EXPECT_EQ(Parse(R"({"entry":"a.py","tty":true})").error().code, "unknown_field");  // REST has no tty
  EXPECT_EQ(Parse(R"({"type":"start","entry":"a.py","tty":true,"cols":0})", true).error().code, "invalid_value");
  EXPECT_EQ(Parse(R"({"entry":"a.py","limits":{"wall_ms":60001}})").error().code, "limit_exceeded");
  EXPECT_EQ(Parse(R"({"entry":"a.py","limits":[]})").error().code, "invalid_type");
  EXPECT_EQ(Parse(R"({"entry":"a.py","args":["a\u0000b"]})").error().code, "invalid_value");
  EXPECT_EQ(Parse(R"({"entry":""})").error().code, "invalid_path");
  auto ws = Parse(R"({"type":"start","id":"c","entry":"a.py","tty":true,"cols":100,"rows":30})", true);
  ASSERT_TRUE(ws.ok());
  EXPECT_TRUE(ws->tty);
  EXPECT_EQ(ws->cols, 100);
  EXPECT_EQ(ws->client_id, "c");
}

TEST(SanitizeUtf8, ReplacesInvalidAndCarriesSplitSequences) {
  EXPECT_EQ(SanitizeUtf8("héllo"), "héllo");
  EXPECT_EQ(SanitizeUtf8("a\xff"
                         "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(SanitizeUtf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");   // overlong
  EXPECT_EQ(SanitizeUtf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  std::string carry;
  std::string euro = "\xE2\x82\xAC";
  EXPECT_EQ(SanitizeUtf8("x" + euro.substr(0, 2), &carry), "x");
  EXPECT_EQ(carry, euro.substr(0, 2));
  EXPECT_EQ(SanitizeUtf8(carry + euro.substr(2), &carry), euro);
  EXPECT_TRUE(carry.empty());
  EXPECT_EQ(SanitizeUtf8("x" + euro.substr(0, 2)), "x\xEF\xBF\xBD");
}

TEST(Languages, DefaultTableParses) {
  auto langs = ParseLanguages(DefaultLanguagesJson());
  ASSERT_TRUE(langs.ok()) << langs.error().message;
  std::vector<std::string> ids;
  for (const auto& l : *langs) ids.push_back(l.id);
  for (const char* id : {"python", "c", "cpp", "javascript", "bash", "go", "rust", "java"})
    EXPECT_NE(std::find(ids.begin(), ids.end(), id), ids.end()) << id;
}

TEST(Languages, BadTables) {
  EXPECT_FALSE(ParseLanguages("{").ok());
  EXPECT_EQ(ParseLanguages(R"({"languages":[]})").error().code, "invalid_value");
  EXPECT_EQ(ParseLanguages(R"({"languages":[{"id":"x","extensions":[".x"]}]})").error().code, "invalid_value");
  EXPECT_EQ(ParseLanguages(R"({"languages":[{"id":"x","extensions":[".x"],"run":["a"],"what":1}]})").error().code,
            "unknown_field");
  EXPECT_EQ(ParseLanguages(R"({"languages":[{"id":"x","extensions":[".x"],"run":["a"]},
                                            {"id":"x","extensions":[".y"],"run":["b"]}]})")
                .error()
                .code,
            "invalid_value");
  EXPECT_EQ(ParseLanguages(R"({"languages":[{"id":"auto","extensions":[".x"],"run":["a"]}]})").error().code,
            "invalid_value");
}

TEST(Languages, ExtractVersion) {
  EXPECT_EQ(ExtractVersion("Python 3.11.2\n"), "3.11.2");
  EXPECT_EQ(ExtractVersion("v20.20.2"), "20.20.2");
  EXPECT_EQ(ExtractVersion("gcc (Debian 12.2.0-14) 12.2.0"), "12.2.0");
  EXPECT_EQ(ExtractVersion("go version go1.22.1 linux/amd64"), "1.22.1");
  EXPECT_EQ(ExtractVersion("openjdk version \"17.0.15\" 2025-04-15"), "17.0.15");
  EXPECT_EQ(ExtractVersion("GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)"), "5.2.15");
  EXPECT_EQ(ExtractVersion("no digits"), "");
}

TEST(Languages, ExpandArgv) {
  ExpandContext ctx;
  ctx.entry = "src/Main.java";
  ctx.out = "/workspace/.playground-cache/abc";
  ctx.sources = {"src/A.java", "src/Main.java"};
  ctx.args = {"x y", "{entry}"};
  auto argv = ExpandArgv({"javac", "-d", "{out}", "{sources}"}, ctx);
  EXPECT_EQ(argv, (std::vector<std::string>{"javac", "-d", "/workspace/.playground-cache/abc", "src/A.java",
                                            "src/Main.java"}));
  argv = ExpandArgv({"java", "-cp", "{out}", "{entry_stem}", "{args}", "{entry_dir}/x"}, ctx);
  EXPECT_EQ(argv, (std::vector<std::string>{"java", "-cp", "/workspace/.playground-cache/abc", "Main", "x y",
                                            "{entry}", "src/x"}));
}

TEST(Languages, FindExecutable) {
  EXPECT_EQ(FindExecutable("sh", "/nonexistent:/bin"), "/bin/sh");
  EXPECT_EQ(FindExecutable("definitely-not-a-tool", kRunPath), "");
  EXPECT_EQ(FindExecutable("/bin/sh", ""), "/bin/sh");
}

}  // namespace
}  // namespace pg::runner
