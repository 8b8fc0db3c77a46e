#include "testing/testing.h"

#include <cstdlib>
#include <stdexcept>

#include "common/fs.h"

namespace pg::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pgtest-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() { (void)RemoveTree(path_); }

static std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string PlaygroundBinary() { return Env("PG_BINARY", "build/playground"); }
std::string SourceDir() { return Env("PG_SOURCE_DIR", "."); }
std::string SharedDir() { return Env("PG_SHARED_DIR", "../shared"); }

}  // namespace pg::testing
