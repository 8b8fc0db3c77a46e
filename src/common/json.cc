#include "common/json.h"

namespace pg {

Result<json::value> ParseJson(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 64;
  json::value v = json::parse(text, ec, json::storage_ptr(), opts);
  if (ec) return Error::BadRequest("malformed_json", "request body is not valid JSON: " + ec.message());
  return v;
}

Result<json::object> ParseJsonObject(std::string_view text, bool empty_is_object) {
  if (empty_is_object) {
    bool blank = true;
    for (char c : text) {
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
        blank = false;
        break;
      }
    }
    if (blank) return json::object();
  }
  PG_ASSIGN_OR_RETURN(json::value v, ParseJson(text));
  if (!v.is_object()) return Error::BadRequest("malformed_json", "request body must be a JSON object");
  return std::move(v.as_object());
}

std::string JsonReader::Name(std::string_view key) const {
  return context_.empty() ? std::string(key) : context_ + "." + std::string(key);
}

Result<void> JsonReader::Only(std::initializer_list<std::string_view> allowed) const {
  for (const auto& kv : obj_) {
    bool found = false;
    for (auto a : allowed) {
      if (kv.key() == a) {
        found = true;
        break;
      }
    }
    if (!found) return Error::BadRequest("unknown_field", "unknown field \"" + Name(kv.key()) + "\"");
  }
  return Ok();
}

bool JsonReader::Has(std::string_view key) const { return obj_.contains(key); }

Result<std::optional<std::string>> JsonReader::String(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return std::optional<std::string>();
  if (!it->value().is_string()) return Error::BadRequest("invalid_type", Name(key) + " must be a string");
  return std::optional<std::string>(std::string(it->value().as_string()));
}

Result<std::optional<int64_t>> JsonReader::Int(std::string_view key, int64_t min, int64_t max) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return std::optional<int64_t>();
  const json::value& v = it->value();
  int64_t n = 0;
  if (v.is_int64()) {
    n = v.as_int64();
  } else if (v.is_uint64()) {
    if (v.as_uint64() > static_cast<uint64_t>(INT64_MAX))
      return Error::BadRequest("invalid_value", Name(key) + " is out of range");
    n = static_cast<int64_t>(v.as_uint64());
  } else if (v.is_double() && v.as_double() == static_cast<double>(static_cast<int64_t>(v.as_double()))) {
    n = static_cast<int64_t>(v.as_double());
  } else {
    return Error::BadRequest("invalid_type", Name(key) + " must be an integer");
  }
  if (n < min || n > max) {
    return Error::BadRequest("invalid_value", Name(key) + " must be between " + std::to_string(min) + " and " +
                                                  std::to_string(max));
  }
  return std::optional<int64_t>(n);
}

Result<std::optional<bool>> JsonReader::Bool(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return std::optional<bool>();
  if (!it->value().is_bool()) return Error::BadRequest("invalid_type", Name(key) + " must be a boolean");
  return std::optional<bool>(it->value().as_bool());
}

Result<std::optional<std::vector<std::string>>> JsonReader::StringArray(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return std::optional<std::vector<std::string>>();
  if (!it->value().is_array()) return Error::BadRequest("invalid_type", Name(key) + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& e : it->value().as_array()) {
    if (!e.is_string()) return Error::BadRequest("invalid_type", Name(key) + " must be an array of strings");
    out.emplace_back(e.as_string());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<const json::object*> JsonReader::Object(std::string_view key) const {
  auto it = obj_.find(key);
  if (it == obj_.end() || it->value().is_null()) return static_cast<const json::object*>(nullptr);
  if (!it->value().is_object()) return Error::BadRequest("invalid_type", Name(key) + " must be an object");
  return &it->value().as_object();
}

std::string ErrorJson(const Error& e) {
  json::object inner{{"code", e.code}, {"message", e.message}};
  json::object outer{{"error", std::move(inner)}};
  return json::serialize(outer);
}

}  // namespace pg
