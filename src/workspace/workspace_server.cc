#include "workspace/workspace_server.h"

#include <cstdio>

namespace pg::workspace {

int ServerMain(const Options&) {
  std::fprintf(stderr, "workspace-server: being built (issue 9)\n");
  return 1;
}

}  // namespace pg::workspace
