#include "hub/hub.h"

#include <cstdio>

namespace pg::hub {

int ServeMain(const Options&) {
  std::fprintf(stderr, "serve: being built (issue 2)\n");
  return 1;
}

}  // namespace pg::hub
