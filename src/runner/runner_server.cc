#include "runner/runner_server.h"

#include <cstdio>

namespace pg::runner {

int ServerMain(const Options&) {
  std::fprintf(stderr, "runner-server: being built (issue 4)\n");
  return 1;
}

}  // namespace pg::runner
