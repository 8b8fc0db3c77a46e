// The language table: which toolchains the runner knows, how to compile and
// run a program in each. The table is data (JSON): a built-in default
// (languages_default.cc) that `--languages FILE` replaces.
//
// Table format: {"languages":[{
//   "id": "c", "name": "C (gcc)", "extensions": [".c"],
//   "inputs": [".h"],                 // optional: extra extensions hashed for the compile cache
//   "compile": ["gcc", "-O2", "-o", "{out}/main", "{sources}"],  // optional
//   "run": ["{out}/main", "{args}"],
//   "version": ["gcc", "--version"],
//   "env": {"K": "V"}                 // optional, added to the run's environment
// }]}
// Placeholders in argv templates: {entry} (the entry path relative to the
// workspace), {entry_dir}, {entry_stem} (file name without extension),
// {out} (the compile output dir as seen by the program), {sources} (the entry
// dir's files with the language's extensions, one argument each), {args}
// (the user's arguments, one argument each).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace pg::runner {

struct Language {
  std::string id;
  std::string name;
  std::vector<std::string> extensions;
  std::vector<std::string> inputs;
  std::vector<std::string> compile;  // empty: interpreted
  std::vector<std::string> run;
  std::vector<std::string> version_command;
  std::map<std::string, std::string> env;

  // Filled by ProbeLanguages.
  bool available = false;
  std::string version;

  bool compiled() const { return !compile.empty(); }
};

// The built-in table (JSON text).
const char* DefaultLanguagesJson();

// Parses a table; fails (400 codes from json.h, "invalid_value") on a
// malformed or incomplete table.
Result<std::vector<Language>> ParseLanguages(std::string_view json_text);

// The first "N.N[.N]" in `text` ("" when none).
std::string ExtractVersion(std::string_view text);

// Searches `name` on `path` (colon-separated) when it has no '/'; returns the
// absolute path of an executable, or "" when none.
std::string FindExecutable(const std::string& name, const std::string& path);

// The PATH runs get (and toolchains are looked up on).
inline constexpr const char* kRunPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

struct ExpandContext {
  std::string entry;       // "src/main.c"
  std::string out;         // "/workspace/.playground-cache/<hash>"
  std::vector<std::string> sources;
  std::vector<std::string> args;
};
// Expands one argv template.
std::vector<std::string> ExpandArgv(const std::vector<std::string>& tmpl, const ExpandContext& ctx);

}  // namespace pg::runner
