#include "runner/languages.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <set>

#include "common/json.h"

namespace pg::runner {

namespace {

Result<std::vector<std::string>> Argv(const JsonReader& r, std::string_view key, bool required) {
  PG_ASSIGN_OR_RETURN(auto v, r.StringArray(key));
  if (!v) {
    if (required) return Error::BadRequest("invalid_value", r.Name(key) + " is required");
    return std::vector<std::string>();
  }
  if (v->empty()) return Error::BadRequest("invalid_value", r.Name(key) + " must not be empty");
  return std::move(*v);
}

}  // namespace

Result<std::vector<Language>> ParseLanguages(std::string_view json_text) {
  PG_ASSIGN_OR_RETURN(json::object root, ParseJsonObject(json_text, false));
  JsonReader top(root, "");
  PG_RETURN_IF_ERROR(top.Only({"languages"}));
  auto it = root.find("languages");
  if (it == root.end() || !it->value().is_array())
    return Error::BadRequest("invalid_type", "languages must be an array");
  std::vector<Language> out;
  std::set<std::string> ids;
  size_t i = 0;
  for (const auto& v : it->value().as_array()) {
    std::string ctx = "languages[" + std::to_string(i++) + "]";
    if (!v.is_object()) return Error::BadRequest("invalid_type", ctx + " must be an object");
    JsonReader r(v.as_object(), ctx);
    PG_RETURN_IF_ERROR(r.Only({"id", "name", "extensions", "inputs", "compile", "run", "version", "env"}));
    Language l;
    PG_ASSIGN_OR_RETURN(auto id, r.String("id"));
    if (!id || id->empty()) return Error::BadRequest("invalid_value", ctx + ".id is required");
    for (char c : *id) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '+')
        return Error::BadRequest("invalid_value", ctx + ".id has invalid characters");
    }
    if (*id == "auto") return Error::BadRequest("invalid_value", ctx + ".id must not be \"auto\"");
    if (!ids.insert(*id).second) return Error::BadRequest("invalid_value", ctx + ".id is a duplicate");
    l.id = *id;
    PG_ASSIGN_OR_RETURN(auto name, r.String("name"));
    l.name = name ? *name : l.id;
    PG_ASSIGN_OR_RETURN(l.extensions, Argv(r, "extensions", true));
    PG_ASSIGN_OR_RETURN(l.inputs, Argv(r, "inputs", false));
    PG_ASSIGN_OR_RETURN(l.compile, Argv(r, "compile", false));
    PG_ASSIGN_OR_RETURN(l.run, Argv(r, "run", true));
    PG_ASSIGN_OR_RETURN(l.version_command, Argv(r, "version", false));
    PG_ASSIGN_OR_RETURN(const json::object* env, r.Object("env"));
    if (env) {
      for (const auto& kv : *env) {
        if (!kv.value().is_string()) return Error::BadRequest("invalid_type", ctx + ".env values must be strings");
        std::string k(kv.key());
        if (k.empty() || k.find('=') != std::string::npos)
          return Error::BadRequest("invalid_value", ctx + ".env has an invalid name");
        l.env[k] = std::string(kv.value().as_string());
      }
    }
    out.push_back(std::move(l));
  }
  if (out.empty()) return Error::BadRequest("invalid_value", "the language table is empty");
  return out;
}

std::string ExtractVersion(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) continue;
    if (i > 0 && (std::isdigit(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '.' ||
                  text[i - 1] == '_')) {
      continue;
    }
    size_t j = i;
    int dots = 0;
    while (j < text.size()) {
      if (std::isdigit(static_cast<unsigned char>(text[j]))) {
        ++j;
      } else if (text[j] == '.' && j + 1 < text.size() && std::isdigit(static_cast<unsigned char>(text[j + 1])) &&
                 dots < 2) {
        ++dots;
        ++j;
      } else {
        break;
      }
    }
    if (dots >= 1) return std::string(text.substr(i, j - i));
    i = j;
  }
  return "";
}

std::string FindExecutable(const std::string& name, const std::string& path) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      struct stat st;
      if (stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(candidate.c_str(), X_OK) == 0)
        return candidate;
    }
    start = end + 1;
  }
  return "";
}

std::vector<std::string> ExpandArgv(const std::vector<std::string>& tmpl, const ExpandContext& ctx) {
  std::string dir, base = ctx.entry;
  if (auto slash = ctx.entry.rfind('/'); slash != std::string::npos) {
    dir = ctx.entry.substr(0, slash);
    base = ctx.entry.substr(slash + 1);
  }
  std::string stem = base;
  if (auto dot = stem.rfind('.'); dot != std::string::npos && dot > 0) stem = stem.substr(0, dot);
  std::vector<std::string> out;
  for (const auto& t : tmpl) {
    if (t == "{args}") {
      out.insert(out.end(), ctx.args.begin(), ctx.args.end());
      continue;
    }
    if (t == "{sources}") {
      out.insert(out.end(), ctx.sources.begin(), ctx.sources.end());
      continue;
    }
    std::string s;
    for (size_t i = 0; i < t.size();) {
      auto try_sub = [&](std::string_view key, const std::string& value) {
        if (t.compare(i, key.size(), key) == 0) {
          s += value;
          i += key.size();
          return true;
        }
        return false;
      };
      if (t[i] == '{' && (try_sub("{entry}", ctx.entry) || try_sub("{entry_dir}", dir.empty() ? "." : dir) ||
                          try_sub("{entry_stem}", stem) || try_sub("{out}", ctx.out))) {
        continue;
      }
      s += t[i++];
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pg::runner
