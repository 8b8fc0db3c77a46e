#include "workspace/changeset.h"

#include <boost/json.hpp>

#include <cmath>

namespace pg::workspace {
namespace {

namespace json = boost::json;

Error Bad(std::string msg) { return Error::BadRequest("bad_changes", "invalid ChangeSet: " + std::move(msg)); }

// A JSON number that is a non-negative integer below 2^53.
bool AsLength(const json::value& v, size_t* out) {
  if (v.is_uint64()) {
    if (v.get_uint64() > (1ULL << 53)) return false;
    *out = static_cast<size_t>(v.get_uint64());
    return true;
  }
  if (v.is_int64()) {
    if (v.get_int64() < 0 || v.get_int64() > (1LL << 53)) return false;
    *out = static_cast<size_t>(v.get_int64());
    return true;
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (!(d >= 0) || d > 9007199254740992.0 || std::floor(d) != d) return false;
    *out = static_cast<size_t>(d);
    return true;
  }
  return false;
}

}  // namespace

Result<ChangeSet> ChangeSet::FromJson(const json::value& v) {
  if (!v.is_array()) return Bad("not an array");
  ChangeSet cs;
  const auto& arr = v.get_array();
  cs.sections.reserve(arr.size());
  for (const auto& part : arr) {
    Section s;
    if (part.is_number()) {
      if (!AsLength(part, &s.keep)) return Bad("a kept length must be a non-negative integer");
      if (s.keep == 0) continue;
      cs.old_length += s.keep;
      cs.new_length += s.keep;
    } else if (part.is_array()) {
      const auto& p = part.get_array();
      if (p.empty() || !p[0].is_number() || !AsLength(p[0], &s.del))
        return Bad("a change must start with a non-negative deleted length");
      s.is_change = true;
      for (size_t i = 1; i < p.size(); ++i) {
        if (!p[i].is_string()) return Bad("inserted lines must be strings");
        const auto& str = p[i].get_string();
        std::string_view sv(str.data(), str.size());
        if (sv.find_first_of("\r\n") != std::string_view::npos) return Bad("an inserted line contains a line break");
        auto u = Utf8ToUtf16(sv);
        if (!u.ok()) return Bad("inserted text is not valid Unicode");
        if (i > 1) s.insert.push_back(u'\n');
        s.insert += *u;
      }
      cs.old_length += s.del;
      cs.new_length += s.insert.size();
    } else {
      return Bad("elements must be numbers or arrays");
    }
    if (cs.old_length > (1ULL << 53) || cs.new_length > (1ULL << 53)) return Bad("lengths too large");
    cs.sections.push_back(std::move(s));
  }
  return cs;
}

json::array ChangeSet::ToJson() const {
  json::array out;
  for (const auto& s : sections) {
    if (!s.is_change) {
      out.emplace_back(static_cast<uint64_t>(s.keep));
      continue;
    }
    json::array part;
    part.emplace_back(static_cast<uint64_t>(s.del));
    if (!s.insert.empty()) {
      size_t i = 0;
      while (i <= s.insert.size()) {
        size_t j = s.insert.find(u'\n', i);
        if (j == std::u16string::npos) j = s.insert.size();
        part.emplace_back(json::string(Utf16ToUtf8(std::u16string_view(s.insert).substr(i, j - i))));
        i = j + 1;
      }
    }
    out.emplace_back(std::move(part));
  }
  return out;
}

Result<AppliedChange> ApplyChangeSet(Text& text, const ChangeSet& cs, size_t max_units) {
  if (cs.old_length != text.size())
    return Bad("its length " + std::to_string(cs.old_length) + " does not match the document length " +
               std::to_string(text.size()));
  if (cs.new_length > max_units) return Error::Make("doc_too_large", "the document would exceed its size limit", 413);
  // Every boundary of a change, in the old document, must not cut a pair.
  auto cuts_pair = [&](size_t pos) {
    return pos > 0 && pos < text.size() && IsHighSurrogate(text.At(pos - 1)) && IsLowSurrogate(text.At(pos));
  };
  size_t pos = 0;
  for (const auto& s : cs.sections) {
    if (!s.is_change) {
      pos += s.keep;
      continue;
    }
    if (cuts_pair(pos) || cuts_pair(pos + s.del)) return Bad("a change splits a surrogate pair");
    if (!s.insert.empty() && (IsLowSurrogate(s.insert.front()) || IsHighSurrogate(s.insert.back())))
      return Bad("inserted text starts or ends inside a surrogate pair");
    pos += s.del;
  }
  AppliedChange applied;
  pos = 0;
  for (const auto& s : cs.sections) {
    if (!s.is_change) {
      pos += s.keep;
      continue;
    }
    AppliedChange::Step step{pos, {}, s.insert.size()};
    if (s.del > 0) {
      step.deleted = text.Slice(pos, pos + s.del);
      text.Erase(pos, s.del);
    }
    text.Insert(pos, s.insert);
    pos += s.insert.size();
    applied.steps.push_back(std::move(step));
  }
  return applied;
}

void UndoChange(Text& text, const AppliedChange& applied) {
  for (auto it = applied.steps.rbegin(); it != applied.steps.rend(); ++it) {
    text.Erase(it->pos, it->inserted);
    text.Insert(it->pos, it->deleted);
  }
}

ChangeSet DiffTexts(std::u16string_view a, std::u16string_view b) {
  size_t pre = 0, max = std::min(a.size(), b.size());
  while (pre < max && a[pre] == b[pre]) ++pre;
  if (pre > 0 && IsHighSurrogate(a[pre - 1])) --pre;
  size_t suf = 0;
  while (suf < max - pre && a[a.size() - 1 - suf] == b[b.size() - 1 - suf]) ++suf;
  if (suf > 0 && IsLowSurrogate(a[a.size() - suf])) --suf;
  ChangeSet cs;
  cs.old_length = a.size();
  cs.new_length = b.size();
  if (pre > 0) cs.sections.push_back({pre, 0, {}, false});
  size_t del = a.size() - pre - suf;
  std::u16string ins(b.substr(pre, b.size() - pre - suf));
  if (del > 0 || !ins.empty()) cs.sections.push_back({0, del, std::move(ins), true});
  if (suf > 0) cs.sections.push_back({suf, 0, {}, false});
  return cs;
}

}  // namespace pg::workspace
