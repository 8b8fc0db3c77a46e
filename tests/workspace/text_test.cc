// The document text structure and ChangeSet handling, against plain strings.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <random>

#include "workspace/changeset.h"
#include "workspace/text.h"

namespace pg::workspace {
namespace {

namespace json = boost::json;

TEST(TextTest, RandomEditsMatchAPlainString) {
  std::mt19937 rng(42);
  std::u16string ref;
  Text t;
  const std::u16string pool[] = {u"a", u"hello world ", u"\n", std::u16string(700, u'x'), std::u16string(3000, u'y'),
                                 u"\xD83D\xDE00"};
  for (int i = 0; i < 3000; ++i) {
    if (ref.empty() || rng() % 3) {
      size_t pos = rng() % (ref.size() + 1);
      const auto& s = pool[rng() % 6];
      ref.insert(pos, s);
      t.Insert(pos, s);
    } else {
      size_t pos = rng() % ref.size();
      size_t n = std::min<size_t>(ref.size() - pos, rng() % (rng() % 10 == 0 ? 5000 : 20));
      ref.erase(pos, n);
      t.Erase(pos, n);
    }
    ASSERT_EQ(t.size(), ref.size());
    if (i % 97 == 0) {
      ASSERT_EQ(t.ToU16(), ref);
      size_t a = rng() % (ref.size() + 1), b = rng() % (ref.size() + 1);
      if (a > b) std::swap(a, b);
      ASSERT_EQ(t.Slice(a, b), ref.substr(a, b - a));
      if (!ref.empty()) {
        size_t p = rng() % ref.size();
        ASSERT_EQ(t.At(p), ref[p]);
      }
    }
  }
  EXPECT_EQ(t.ToU16(), ref);
}

TEST(TextTest, LargeDocumentEditsDoNotCopyIt) {
  std::u16string big(5 << 20, u'a');
  Text t(big);
  EXPECT_EQ(t.size(), big.size());
  EXPECT_GT(t.chunk_count(), 2000u);
  // Memory stays near 2 bytes a unit (no second copy).
  EXPECT_LT(t.MemoryBytes(), big.size() * 2 + big.size() / 2);
  for (int i = 0; i < 1000; ++i) t.Insert(static_cast<size_t>(i) * 4099, u"zz");
  EXPECT_EQ(t.size(), big.size() + 2000);
  EXPECT_EQ(t.At(4099), u'z');
}

TEST(TextTest, Utf8RoundTripAndStrictness) {
  std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";  // a é 中 😀
  auto u = Utf8ToUtf16(s);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->size(), 1u + 1 + 1 + 2);
  EXPECT_EQ(Utf16ToUtf8(*u), s);
  for (std::string bad : {"\xC0\x80", "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xC3", "\x80", "\xFF"}) {
    auto r = Utf8ToUtf16(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "not_text");
  }
}

TEST(TextTest, LineBreaksAreNormalizedAndRestored) {
  std::string sep;
  auto u = DecodeFileText("a\r\nb\r\nc", &sep);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(sep, "\r\n");
  EXPECT_EQ(*u, u"a\nb\nc");
  Text t(*u);
  EXPECT_EQ(t.ToUtf8(sep), "a\r\nb\r\nc");
  u = DecodeFileText("a\nb\rc", &sep);
  EXPECT_EQ(sep, "\n");
  EXPECT_EQ(*u, u"a\nb\nc");
  EXPECT_FALSE(DecodeFileText(std::string("a\0b", 3), &sep).ok());
  EXPECT_FALSE(DecodeFileText("\xFF", &sep).ok());
}

TEST(TextTest, SurrogatePairAcrossChunksSurvivesUtf8) {
  std::u16string s(2047, u'a');
  s += u"\xD83D\xDE00";  // the pair straddles the 2048-unit chunk boundary
  s += u"b";
  Text t(s);
  EXPECT_EQ(t.ToUtf8(), std::string(2047, 'a') + "\xF0\x9F\x98\x80" + "b");
}

Result<ChangeSet> Parse(const std::string& j) { return ChangeSet::FromJson(json::parse(j)); }

TEST(ChangeSetTest, ParsesAndAppliesLikeCodeMirror) {
  Text t(u"hello world");
  auto cs = Parse(R"([5,[1,"",""],[0,"big"],5])");
  ASSERT_TRUE(cs.ok()) << cs.error().message;
  EXPECT_EQ(cs->old_length, 11u);
  auto a = ApplyChangeSet(t, *cs, 1000);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(t.ToU16(), u"hello\nbigworld");
  UndoChange(t, *a);
  EXPECT_EQ(t.ToU16(), u"hello world");
  EXPECT_EQ(json::serialize(Parse(R"([5,[1,"",""],[0,"big"],5])")->ToJson()), R"([5,[1,"",""],[0,"big"],5])");
}

TEST(ChangeSetTest, RejectsBadInput) {
  for (const char* bad : {R"({})", R"([-1])", R"([1.5])", R"(["x"])", R"([[]])", R"([["a"]])", R"([[1, 2]])",
                          R"([[0,"a\nb"]])", R"([[0,"a\rb"]])", R"([null])", R"([1e300])"}) {
    auto r = Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, "bad_changes") << bad;
  }
}

TEST(ChangeSetTest, RejectsLengthMismatchAndSurrogateSplit) {
  Text t(u"ab\xD83D\xDE00" u"cd");  // length 6, pair at 2..3
  auto r = ApplyChangeSet(t, *Parse("[5]"), 100);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "bad_changes");
  r = ApplyChangeSet(t, *Parse("[7]"), 100);
  ASSERT_FALSE(r.ok());
  r = ApplyChangeSet(t, *Parse(R"([3,[0,"x"],3])"), 100);  // insert between the halves
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("surrogate"), std::string::npos);
  r = ApplyChangeSet(t, *Parse(R"([2,[1],3])"), 100);  // delete the high half only
  ASSERT_FALSE(r.ok());
  r = ApplyChangeSet(t, *Parse(R"([2,[2,"😀😀"],2])"), 100);  // whole pair: fine
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(t.size(), 8u);
  r = ApplyChangeSet(t, *Parse(R"([8,[0,"0123456789"]])"), 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "doc_too_large");
  EXPECT_EQ(t.size(), 8u);
}

TEST(ChangeSetTest, DiffKeepsPairsWhole) {
  std::u16string a = u"x\xD83D\xDE00y", b = u"x\xD83D\xDE01y";
  ChangeSet cs = DiffTexts(a, b);
  Text t(a);
  ASSERT_TRUE(ApplyChangeSet(t, cs, 100).ok());
  EXPECT_EQ(t.ToU16(), b);
  EXPECT_EQ(json::serialize(cs.ToJson()), "[1,[2,\"\xF0\x9F\x98\x81\"],1]");
  EXPECT_EQ(json::serialize(DiffTexts(u"abc", u"abc").ToJson()), "[3]");
}

}  // namespace
}  // namespace pg::workspace
