// ChangeSets in the JSON form of @codemirror/state (`ChangeSet.toJSON()`):
// an array whose elements are a number (keep that many UTF-16 units) or an
// array [deleteLength, ...insertedLines] (lines joined with "\n").
#pragma once

#include <boost/json/value.hpp>

#include <string>
#include <vector>

#include "common/result.h"
#include "workspace/text.h"

namespace pg::workspace {

struct ChangeSet {
  struct Section {
    size_t keep = 0;  // > 0: a kept run; then del/insert are empty
    size_t del = 0;
    std::u16string insert;
    bool is_change = false;
  };
  std::vector<Section> sections;
  size_t old_length = 0;  // sum of kept and deleted units
  size_t new_length = 0;

  // Parses like ChangeSet.fromJSON (non-negative integers only; inserted
  // lines may not contain "\r" or "\n"). Errors are 400 "bad_changes".
  static Result<ChangeSet> FromJson(const boost::json::value& v);
  // The JSON form (as toJSON would give it).
  boost::json::array ToJson() const;
};

// What Apply removed, to undo it.
struct AppliedChange {
  struct Step {
    size_t pos;
    std::u16string deleted;
    size_t inserted;
  };
  std::vector<Step> steps;
};

// Checks `cs` against `text` (lengths match; no change boundary between the
// halves of a surrogate pair; the result at most `max_units` long), then
// applies it. On error `text` is unchanged.
Result<AppliedChange> ApplyChangeSet(Text& text, const ChangeSet& cs, size_t max_units);
// Reverts one Apply (the most recent first).
void UndoChange(Text& text, const AppliedChange& applied);

// The smallest single change turning `a` into `b` (common prefix and suffix
// kept, never cutting a surrogate pair).
ChangeSet DiffTexts(std::u16string_view a, std::u16string_view b);

}  // namespace pg::workspace
