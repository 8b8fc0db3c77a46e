#include <cstring>

#include "common/result.h"

namespace pg {

Error Error::FromErrno(const std::string& what, int err) {
  return Error{"errno", what + ": " + std::strerror(err), 500};
}

}  // namespace pg
