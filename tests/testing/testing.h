// Helpers shared by the tests: temp dirs, the binary under test, a hub
// process on port 0, HTTP calls.
#pragma once

#include <string>

namespace pg::testing {

// A fresh directory under $TMPDIR, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// $PG_BINARY: the playground binary under test.
// The whole of a /proc (or other) file, "" when it cannot be read. Unlike
// std::ifstream it never throws when the process goes away mid-read
// (libstdc++'s filebuf throws on ESRCH).
std::string ReadProcFile(const std::string& path);

std::string PlaygroundBinary();
// $PG_SOURCE_DIR and $PG_SHARED_DIR.
std::string SourceDir();
std::string SharedDir();

}  // namespace pg::testing
