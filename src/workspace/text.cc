#include "workspace/text.h"

#include <algorithm>
#include <utility>
#include <vector>

namespace pg::workspace {

namespace {
// Chunks are built at kChunk units and grown in place up to kMaxChunk.
constexpr size_t kChunk = 2048;
constexpr size_t kMaxChunk = 4096;
}  // namespace

struct Text::Node {
  std::u16string chunk;
  size_t sum = 0;  // units in this subtree
  size_t count = 1;  // nodes in this subtree
  uint32_t prio = 0;
  std::unique_ptr<Node> left, right;
};

namespace {

using NodePtr = std::unique_ptr<Text::Node>;

size_t Sum(const NodePtr& n) { return n ? n->sum : 0; }
size_t Count(const NodePtr& n) { return n ? n->count : 0; }
void Update(Text::Node* n) {
  n->sum = Sum(n->left) + n->chunk.size() + Sum(n->right);
  n->count = Count(n->left) + 1 + Count(n->right);
}

uint32_t NextPrio(uint64_t& s) {
  // xorshift64*
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return static_cast<uint32_t>((s * 0x2545F4914F6CDD1DULL) >> 32);
}

NodePtr Merge(NodePtr a, NodePtr b) {
  if (!a) return b;
  if (!b) return a;
  if (a->prio >= b->prio) {
    a->right = Merge(std::move(a->right), std::move(b));
    Update(a.get());
    return a;
  }
  b->left = Merge(std::move(a), std::move(b->left));
  Update(b.get());
  return b;
}

// Splits `t` into the first `pos` units and the rest; a chunk that straddles
// `pos` is cut in two.
std::pair<NodePtr, NodePtr> Split(NodePtr t, size_t pos, uint64_t& rng) {
  if (!t) return {nullptr, nullptr};
  size_t ls = Sum(t->left);
  if (pos <= ls) {
    auto [a, b] = Split(std::move(t->left), pos, rng);
    t->left = std::move(b);
    Update(t.get());
    return {std::move(a), std::move(t)};
  }
  size_t off = pos - ls;
  if (off >= t->chunk.size()) {
    auto [a, b] = Split(std::move(t->right), off - t->chunk.size(), rng);
    t->right = std::move(a);
    Update(t.get());
    return {std::move(t), std::move(b)};
  }
  auto n = std::make_unique<Text::Node>();
  n->chunk = t->chunk.substr(off);
  n->prio = NextPrio(rng);
  Update(n.get());
  t->chunk.resize(off);
  t->chunk.shrink_to_fit();
  NodePtr right = std::move(t->right);
  Update(t.get());
  return {std::move(t), Merge(std::move(n), std::move(right))};
}

NodePtr Build(std::u16string_view s, uint64_t& rng) {
  NodePtr out;
  for (size_t i = 0; i < s.size(); i += kChunk) {
    auto n = std::make_unique<Text::Node>();
    n->chunk.assign(s.substr(i, kChunk));
    n->prio = NextPrio(rng);
    Update(n.get());
    out = Merge(std::move(out), std::move(n));
  }
  return out;
}

// Inserts into the chunk holding `pos` when it has room; false otherwise.
bool InsertInPlace(Text::Node* t, size_t pos, std::u16string_view s) {
  if (!t) return false;
  size_t ls = Sum(t->left);
  bool ok;
  if (pos < ls) {
    ok = InsertInPlace(t->left.get(), pos, s);
  } else if (pos <= ls + t->chunk.size()) {
    if (t->chunk.size() + s.size() > kMaxChunk) return false;
    t->chunk.insert(pos - ls, s.data(), s.size());
    ok = true;
  } else {
    ok = InsertInPlace(t->right.get(), pos - ls - t->chunk.size(), s);
  }
  if (ok) t->sum += s.size();
  return ok;
}

// Erases inside the one chunk holding [pos, pos+n) when it stays non-empty.
bool EraseInPlace(Text::Node* t, size_t pos, size_t n) {
  if (!t) return false;
  size_t ls = Sum(t->left);
  bool ok;
  if (pos < ls) {
    ok = EraseInPlace(t->left.get(), pos, n);
  } else if (pos - ls < t->chunk.size()) {
    size_t off = pos - ls;
    if (off + n > t->chunk.size() || n >= t->chunk.size()) return false;
    t->chunk.erase(off, n);
    ok = true;
  } else {
    ok = EraseInPlace(t->right.get(), pos - ls - t->chunk.size(), n);
  }
  if (ok) t->sum -= n;
  return ok;
}

template <class F>
void ForEach(const Text::Node* t, F& f) {
  while (t) {
    ForEach(t->left.get(), f);
    f(t->chunk);
    t = t->right.get();
  }
}

size_t Memory(const Text::Node* t) {
  if (!t) return 0;
  return sizeof(Text::Node) + t->chunk.capacity() * 2 + Memory(t->left.get()) + Memory(t->right.get());
}

}  // namespace

Text::Text() : rng_(0x9E3779B97F4A7C15ULL) {}
Text::Text(std::u16string_view s) : Text() { root_ = Build(s, rng_); }
Text::~Text() = default;
Text::Text(Text&&) noexcept = default;
Text& Text::operator=(Text&&) noexcept = default;

size_t Text::size() const { return Sum(root_); }
size_t Text::chunk_count() const { return Count(root_); }
size_t Text::MemoryBytes() const { return sizeof(Text) + Memory(root_.get()); }

char16_t Text::At(size_t pos) const {
  const Node* t = root_.get();
  while (t) {
    size_t ls = Sum(t->left);
    if (pos < ls) {
      t = t->left.get();
    } else if (pos - ls < t->chunk.size()) {
      return t->chunk[pos - ls];
    } else {
      pos -= ls + t->chunk.size();
      t = t->right.get();
    }
  }
  return 0;
}

void Text::Insert(size_t pos, std::u16string_view s) {
  if (s.empty()) return;
  if (s.size() <= kMaxChunk / 2 && InsertInPlace(root_.get(), pos, s)) return;
  auto [a, b] = Split(std::move(root_), pos, rng_);
  root_ = Merge(Merge(std::move(a), Build(s, rng_)), std::move(b));
}

void Text::Erase(size_t pos, size_t n) {
  if (n == 0) return;
  if (EraseInPlace(root_.get(), pos, n)) return;
  auto [a, rest] = Split(std::move(root_), pos, rng_);
  auto [mid, b] = Split(std::move(rest), n, rng_);
  mid.reset();
  root_ = Merge(std::move(a), std::move(b));
}

std::u16string Text::Slice(size_t from, size_t to) const {
  std::u16string out;
  if (from >= to) return out;
  out.reserve(to - from);
  // Walks the chunks overlapping [from, to).
  struct Walker {
    size_t from, to, at = 0;
    std::u16string* out;
    // `at` is the offset of the first unit of `t`'s subtree; true when done.
    bool Walk(const Node* t) {
      while (t) {
        size_t ls = Sum(t->left);
        if (from < at + ls) {
          if (Walk(t->left.get())) return true;
        } else {
          at += ls;
        }
        size_t start = at, end = start + t->chunk.size();
        if (end > from && start < to) {
          size_t a = from > start ? from - start : 0;
          size_t b = std::min(to, end) - start;
          out->append(t->chunk, a, b - a);
        }
        at = end;
        if (at >= to) return true;
        t = t->right.get();
      }
      return false;
    }
  } w{from, to, 0, &out};
  w.Walk(root_.get());
  return out;
}

std::u16string Text::ToU16() const {
  std::u16string out;
  out.reserve(size());
  auto f = [&](const std::u16string& c) { out += c; };
  ForEach(root_.get(), f);
  return out;
}

std::string Text::ToUtf8(std::string_view line_sep) const {
  std::string out;
  out.reserve(size() + size() / 8);
  char16_t pending_high = 0;
  auto f = [&](const std::u16string& c) {
    std::u16string_view v(c);
    // A surrogate pair may straddle two chunks.
    if (pending_high) {
      std::u16string pair{pending_high};
      pending_high = 0;
      if (!v.empty() && IsLowSurrogate(v[0])) {
        pair.push_back(v[0]);
        v.remove_prefix(1);
      }
      AppendUtf8(pair, out);
    }
    if (!v.empty() && IsHighSurrogate(v.back())) {
      pending_high = v.back();
      v.remove_suffix(1);
    }
    if (line_sep == "\n") {
      AppendUtf8(v, out);
    } else {
      size_t i = 0;
      while (i <= v.size()) {
        size_t j = v.find(u'\n', i);
        if (j == std::u16string_view::npos) j = v.size();
        AppendUtf8(v.substr(i, j - i), out);
        if (j < v.size()) out += line_sep;
        i = j + 1;
      }
    }
  };
  ForEach(root_.get(), f);
  if (pending_high) AppendUtf8(std::u16string{pending_high}, out);
  return out;
}

Result<std::u16string> Utf8ToUtf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  auto bad = [] { return Error::BadRequest("not_text", "invalid UTF-8"); };
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(c);
      ++i;
      continue;
    }
    uint32_t cp;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
      cp = c & 0x1F;
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      cp = c & 0x0F;
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      cp = c & 0x07;
      len = 4;
    } else {
      return bad();
    }
    if (i + len > n) return bad();
    for (size_t k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return bad();
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return bad();
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(cp));
    }
    i += len;
  }
  return out;
}

void AppendUtf8(std::u16string_view s, std::string& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    uint32_t c = s[i];
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (IsHighSurrogate(static_cast<char16_t>(c)) && i + 1 < s.size() && IsLowSurrogate(s[i + 1])) {
      c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
      ++i;
    } else if (c >= 0xD800 && c <= 0xDFFF) {
      c = 0xFFFD;
    }
    if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (c >> 18)));
      out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
}

std::string Utf16ToUtf8(std::u16string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendUtf8(s, out);
  return out;
}

Result<std::u16string> DecodeFileText(std::string_view bytes, std::string* line_sep) {
  if (bytes.find('\0') != std::string_view::npos) return Error::BadRequest("not_text", "the file has NUL bytes");
  PG_ASSIGN_OR_RETURN(std::u16string u, Utf8ToUtf16(bytes));
  size_t first = u.find_first_of(u"\r\n");
  *line_sep = (first != std::u16string::npos && u[first] == u'\r' && first + 1 < u.size() && u[first + 1] == u'\n')
                  ? "\r\n"
                  : "\n";
  if (u.find(u'\r') == std::u16string::npos) return u;
  std::u16string out;
  out.reserve(u.size());
  for (size_t i = 0; i < u.size(); ++i) {
    if (u[i] == u'\r') {
      out.push_back(u'\n');
      if (i + 1 < u.size() && u[i + 1] == u'\n') ++i;
    } else {
      out.push_back(u[i]);
    }
  }
  return out;
}

}  // namespace pg::workspace
