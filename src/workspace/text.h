// Document text for collaborative editing: a sequence of UTF-16 code units
// (JavaScript string offsets, as @codemirror/state counts them) held in a
// treap of chunks with per-subtree length caches, so that an edit costs
// O(log n + chunk) and never copies the whole document.
//
// Also: UTF-8 <-> UTF-16 conversion and line-break normalization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pg::workspace {

class Text {
 public:
  Text();
  explicit Text(std::u16string_view s);
  ~Text();
  Text(Text&&) noexcept;
  Text& operator=(Text&&) noexcept;
  Text(const Text&) = delete;
  Text& operator=(const Text&) = delete;

  // Length in UTF-16 code units.
  size_t size() const;
  // The unit at `pos`. Precondition: pos < size().
  char16_t At(size_t pos) const;
  // Precondition: pos <= size().
  void Insert(size_t pos, std::u16string_view s);
  // Precondition: pos + n <= size().
  void Erase(size_t pos, size_t n);
  // Units [from, to). Precondition: from <= to <= size().
  std::u16string Slice(size_t from, size_t to) const;
  std::u16string ToU16() const;
  // UTF-8 with every "\n" written as `line_sep`; a lone surrogate (never
  // produced by validated edits) becomes U+FFFD.
  std::string ToUtf8(std::string_view line_sep = "\n") const;

  // Bytes allocated for the text (chunks and nodes), for benchmarks.
  size_t MemoryBytes() const;
  size_t chunk_count() const;

  struct Node;

 private:
  std::unique_ptr<Node> root_;
  uint64_t rng_;
};

// Strict UTF-8 → UTF-16: rejects overlong forms, surrogates, values past
// U+10FFFF and truncated sequences ("not_text").
Result<std::u16string> Utf8ToUtf16(std::string_view s);
// UTF-16 → UTF-8 (lone surrogates become U+FFFD).
void AppendUtf8(std::u16string_view s, std::string& out);
std::string Utf16ToUtf8(std::u16string_view s);

// A file's bytes as document text: validates UTF-8, refuses NUL bytes,
// turns "\r\n" and lone "\r" into "\n". `line_sep` receives "\r\n" when the
// first line break of the file is CRLF, else "\n".
Result<std::u16string> DecodeFileText(std::string_view bytes, std::string* line_sep);

inline bool IsHighSurrogate(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }
inline bool IsLowSurrogate(char16_t c) { return c >= 0xDC00 && c <= 0xDFFF; }

}  // namespace pg::workspace
