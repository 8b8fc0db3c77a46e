// Strict JSON reading for untrusted input (Boost.JSON). Every failure is an
// Error with status 400 and a stable code:
//   malformed_json  - not JSON, or not an object where one is needed
//   unknown_field   - a member the schema does not name
//   invalid_type    - a member of the wrong type
//   invalid_value   - right type, value out of range
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace pg {

namespace json = boost::json;

// Parses `text` as JSON. Depth and size are bounded by the caller's body limit.
Result<json::value> ParseJson(std::string_view text);
// Parses `text` as a JSON object; an empty text is an empty object.
Result<json::object> ParseJsonObject(std::string_view text, bool empty_is_object = true);

// Reads members of one object, checking types; `context` prefixes messages
// ("limits.cpu_ms must be an integer").
class JsonReader {
 public:
  explicit JsonReader(const json::object& obj, std::string context = "") : obj_(obj), context_(std::move(context)) {}

  // Fails with unknown_field when a member outside `allowed` is present.
  Result<void> Only(std::initializer_list<std::string_view> allowed) const;

  bool Has(std::string_view key) const;
  Result<std::optional<std::string>> String(std::string_view key) const;
  Result<std::optional<int64_t>> Int(std::string_view key, int64_t min = INT64_MIN, int64_t max = INT64_MAX) const;
  Result<std::optional<bool>> Bool(std::string_view key) const;
  Result<std::optional<std::vector<std::string>>> StringArray(std::string_view key) const;
  // An object member; nullptr when absent.
  Result<const json::object*> Object(std::string_view key) const;

  std::string Name(std::string_view key) const;

 private:
  const json::object& obj_;
  std::string context_;
};

// {"error": {"code": code, "message": message}}
std::string ErrorJson(const Error& e);

}  // namespace pg
