#include "model_validator.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace pg::aws::testing {
namespace js = boost::json;
namespace {

Error Invalid(const std::string& what) { return Error::Make("ValidationException", what, 400); }

std::string S(const js::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

// AWS patterns use Java classes; std::regex knows ASCII only.
std::string TranslatePattern(std::string p) {
  auto repl = [&](const std::string& from, const std::string& to) {
    for (size_t pos = p.find(from); pos != std::string::npos; pos = p.find(from, pos + to.size()))
      p.replace(pos, from.size(), to);
  };
  repl("\\p{L}", "a-zA-Z");
  repl("\\p{Z}", " ");
  repl("\\p{N}", "0-9");
  return p;
}

size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

ModelValidator::ModelValidator(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open model " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  model_ = js::parse(ss.str()).as_object();
  const auto& md = model_.at("metadata").as_object();
  protocol_ = S(md, "protocol");
  target_prefix_ = S(md, "targetPrefix");
  api_version_ = S(md, "apiVersion");
  signing_name_ = S(md, "signingName");
  if (signing_name_.empty()) signing_name_ = S(md, "endpointPrefix");
  for (const auto& [name, op] : model_.at("operations").as_object()) ops_[std::string(name)] = &op.as_object();
}

const js::object& ModelValidator::Shape(const std::string& name) const {
  return model_.at("shapes").as_object().at(name).as_object();
}

int ModelValidator::ResponseCode(const std::string& op) const {
  const auto& http = ops_.at(op)->at("http").as_object();
  auto it = http.find("responseCode");
  return it == http.end() ? 200 : static_cast<int>(it->value().as_int64());
}

Result<void> ModelValidator::ValidateJson(const std::string& op, const js::value& input) const {
  auto it = ops_.find(op);
  if (it == ops_.end()) return Invalid("unknown operation " + op);
  auto in = it->second->find("input");
  if (in == it->second->end()) {
    if (input.is_object() && !input.as_object().empty()) return Invalid(op + " takes no input");
    return Ok();
  }
  return Check(S(in->value().as_object(), "shape"), input, op, true);
}

Result<void> ModelValidator::Check(const std::string& shape_name, const js::value& v, const std::string& path,
                                   bool top) const {
  const js::object& sh = Shape(shape_name);
  std::string type = S(sh, "type");
  if (type == "structure") {
    if (!v.is_object()) return Invalid(path + ": expected a structure");
    const auto& members = sh.at("members").as_object();
    for (const auto& [k, mv] : v.as_object()) {
      auto m = members.find(k);
      if (m == members.end()) return Invalid(path + ": unknown member " + std::string(k));
      (void)top;
      PG_RETURN_IF_ERROR(Check(S(m->value().as_object(), "shape"), mv, path + "." + std::string(k), false));
    }
    if (auto req = sh.find("required"); req != sh.end()) {
      for (const auto& r : req->value().as_array()) {
        if (!v.as_object().contains(r.as_string())) return Invalid(path + ": missing required member " + std::string(r.as_string()));
      }
    }
    return Ok();
  }
  if (type == "list") {
    if (!v.is_array()) return Invalid(path + ": expected a list");
    const auto& arr = v.as_array();
    if (auto mn = sh.find("min"); mn != sh.end() && static_cast<int64_t>(arr.size()) < mn->value().to_number<int64_t>())
      return Invalid(path + ": list shorter than " + std::to_string(mn->value().to_number<int64_t>()));
    if (auto mx = sh.find("max"); mx != sh.end() && static_cast<int64_t>(arr.size()) > mx->value().to_number<int64_t>())
      return Invalid(path + ": list longer than " + std::to_string(mx->value().to_number<int64_t>()));
    std::string member = S(sh.at("member").as_object(), "shape");
    for (size_t i = 0; i < arr.size(); ++i)
      PG_RETURN_IF_ERROR(Check(member, arr[i], path + "[" + std::to_string(i) + "]", false));
    return Ok();
  }
  if (type == "map") {
    if (!v.is_object()) return Invalid(path + ": expected a map");
    std::string ks = S(sh.at("key").as_object(), "shape"), vs = S(sh.at("value").as_object(), "shape");
    for (const auto& [k, mv] : v.as_object()) {
      PG_RETURN_IF_ERROR(Check(ks, js::value(js::string(k)), path + ".<key>", false));
      PG_RETURN_IF_ERROR(Check(vs, mv, path + "." + std::string(k), false));
    }
    return Ok();
  }
  if (type == "string") {
    if (!v.is_string()) return Invalid(path + ": expected a string");
    std::string s(v.as_string());
    if (auto en = sh.find("enum"); en != sh.end()) {
      bool found = false;
      for (const auto& e : en->value().as_array()) found = found || e.as_string() == s;
      if (!found) return Invalid(path + ": '" + s + "' is not one of the enum values");
    }
    size_t len = Utf8Length(s);
    if (auto mn = sh.find("min"); mn != sh.end() && static_cast<int64_t>(len) < mn->value().to_number<int64_t>())
      return Invalid(path + ": shorter than " + std::to_string(mn->value().to_number<int64_t>()));
    if (auto mx = sh.find("max"); mx != sh.end() && static_cast<int64_t>(len) > mx->value().to_number<int64_t>())
      return Invalid(path + ": longer than " + std::to_string(mx->value().to_number<int64_t>()));
    if (auto pat = sh.find("pattern"); pat != sh.end()) {
      std::string p(pat->value().as_string());
      auto& re = regex_cache_[p];
      if (!re) {
        try {
          re = std::make_shared<std::regex>(TranslatePattern(p), std::regex::ECMAScript);
        } catch (const std::regex_error&) {
          re = std::make_shared<std::regex>(".*");  // a construct std::regex lacks
        }
      }
      if (!std::regex_search(s, *re)) return Invalid(path + ": '" + s + "' does not match " + p);
    }
    return Ok();
  }
  if (type == "integer" || type == "long") {
    int64_t n;
    if (v.is_int64()) n = v.as_int64();
    else if (v.is_uint64() && v.as_uint64() <= INT64_MAX) n = static_cast<int64_t>(v.as_uint64());
    else return Invalid(path + ": expected an integer");
    if (type == "integer" && (n < INT32_MIN || n > INT32_MAX)) return Invalid(path + ": not a 32-bit integer");
    if (auto mn = sh.find("min"); mn != sh.end() && n < mn->value().to_number<int64_t>())
      return Invalid(path + ": below the minimum " + std::to_string(mn->value().to_number<int64_t>()));
    if (auto mx = sh.find("max"); mx != sh.end() && n > mx->value().to_number<int64_t>())
      return Invalid(path + ": above the maximum " + std::to_string(mx->value().to_number<int64_t>()));
    return Ok();
  }
  if (type == "boolean") return v.is_bool() ? Ok() : Result<void>(Invalid(path + ": expected a boolean"));
  if (type == "double" || type == "float") return v.is_number() ? Ok() : Result<void>(Invalid(path + ": expected a number"));
  if (type == "timestamp")
    return v.is_number() || v.is_string() ? Ok() : Result<void>(Invalid(path + ": expected a timestamp"));
  if (type == "blob") return v.is_string() ? Ok() : Result<void>(Invalid(path + ": expected a blob"));
  return Invalid(path + ": unsupported shape type " + type);
}

Result<js::value> ModelValidator::Build(const std::string& shape_name,
                                        const std::vector<std::pair<std::string, std::string>>& kv,
                                        const std::string& path) const {
  const js::object& sh = Shape(shape_name);
  std::string type = S(sh, "type");
  auto leaf = [&]() -> Result<std::string> {
    if (kv.size() != 1 || !kv[0].first.empty()) return Invalid(path + ": expected a single value");
    return kv[0].second;
  };
  if (type == "structure") {
    const auto& members = sh.at("members").as_object();
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> groups;
    for (const auto& [k, v] : kv) {
      if (k.empty()) return Invalid(path + ": a structure given as a value");
      size_t dot = k.find('.');
      std::string head = k.substr(0, dot);
      groups[head].emplace_back(dot == std::string::npos ? "" : k.substr(dot + 1), v);
    }
    js::object out;
    for (auto& [name, sub] : groups) {
      auto m = members.find(name);
      if (m == members.end()) return Invalid(path + ": unknown member " + name);
      PG_ASSIGN_OR_RETURN(out[name], Build(S(m->value().as_object(), "shape"), sub, path + "." + name));
    }
    return js::value(out);
  }
  if (type == "list") {
    std::map<int, std::vector<std::pair<std::string, std::string>>> items;
    for (const auto& [k, v] : kv) {
      if (k.empty() && v.empty()) continue;  // "Name=" is an empty list
      if (k.rfind("member.", 0) != 0) return Invalid(path + ": list entries must be member.N, got " + k);
      std::string rest = k.substr(7);
      size_t dot = rest.find('.');
      int idx = 0;
      try {
        size_t used = 0;
        idx = std::stoi(rest.substr(0, dot), &used);
        if (used != rest.substr(0, dot).size()) throw std::invalid_argument("x");
      } catch (...) {
        return Invalid(path + ": bad list index in " + k);
      }
      items[idx].emplace_back(dot == std::string::npos ? "" : rest.substr(dot + 1), v);
    }
    js::array out;
    int expect = 1;
    for (auto& [idx, sub] : items) {
      if (idx != expect++) return Invalid(path + ": list indexes must run 1..n");
      PG_ASSIGN_OR_RETURN(auto v, Build(S(sh.at("member").as_object(), "shape"), sub, path + "[" + std::to_string(idx) + "]"));
      out.push_back(std::move(v));
    }
    return js::value(out);
  }
  if (type == "map") return Invalid(path + ": maps are not used by these operations");
  PG_ASSIGN_OR_RETURN(std::string s, leaf());
  if (type == "integer" || type == "long") {
    try {
      size_t used = 0;
      long long n = std::stoll(s, &used);
      if (used != s.size()) throw std::invalid_argument("x");
      return js::value(static_cast<int64_t>(n));
    } catch (...) {
      return Invalid(path + ": '" + s + "' is not an integer");
    }
  }
  if (type == "boolean") {
    if (s == "true") return js::value(true);
    if (s == "false") return js::value(false);
    return Invalid(path + ": '" + s + "' is not a boolean");
  }
  if (type == "double" || type == "float") {
    try {
      return js::value(std::stod(s));
    } catch (...) {
      return Invalid(path + ": not a number");
    }
  }
  return js::value(js::string(s));
}

Result<js::value> ModelValidator::ValidateQuery(const std::string& op,
                                                const std::vector<std::pair<std::string, std::string>>& params) const {
  auto it = ops_.find(op);
  if (it == ops_.end()) return Invalid("unknown operation " + op);
  std::string shape = S(it->second->at("input").as_object(), "shape");
  PG_ASSIGN_OR_RETURN(js::value doc, Build(shape, params, op));
  PG_RETURN_IF_ERROR(Check(shape, doc, op, true));
  return doc;
}

Result<std::pair<std::string, std::map<std::string, std::string>>> ModelValidator::MatchRest(
    const std::string& method, const std::string& path) const {
  for (const auto& [name, op] : ops_) {
    const auto& http = op->at("http").as_object();
    if (S(http, "method") != method) continue;
    std::string uri = S(http, "requestUri");
    uri = uri.substr(0, uri.find('?'));
    // Segment-wise match with {Member} captures.
    std::map<std::string, std::string> caps;
    size_t i = 0, j = 0;
    bool ok = true;
    while (ok && i < uri.size()) {
      if (uri[i] == '{') {
        size_t close = uri.find('}', i);
        std::string member = uri.substr(i + 1, close - i - 1);
        if (!member.empty() && member.back() == '+') member.pop_back();
        size_t end = path.find('/', j);
        if (end == std::string::npos) end = path.size();
        if (end == j) ok = false;
        caps[member] = path.substr(j, end - j);
        j = end;
        i = close + 1;
      } else {
        ok = j < path.size() && path[j] == uri[i];
        ++i;
        ++j;
      }
    }
    if (ok && j == path.size()) return std::pair{name, caps};
  }
  return Error::Make("UnknownOperationException", "no operation for " + method + " " + path, 404);
}

std::map<std::string, ModelValidator::QueryMember> ModelValidator::QueryMembers(const std::string& op) const {
  std::map<std::string, QueryMember> out;
  auto in = ops_.at(op)->find("input");
  if (in == ops_.at(op)->end()) return out;
  const auto& sh = Shape(S(in->value().as_object(), "shape"));
  for (const auto& [name, m] : sh.at("members").as_object()) {
    const auto& mo = m.as_object();
    if (S(mo, "location") == "querystring")
      out[S(mo, "locationName")] = QueryMember{std::string(name), S(Shape(S(mo, "shape")), "type")};
  }
  return out;
}

}  // namespace pg::aws::testing
