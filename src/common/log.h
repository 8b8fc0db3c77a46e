// Logging: spdlog, one process-wide logger writing to stderr.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace pg {

// Sets the level ("trace", "debug", "info", "warn", "error", "off") and a
// pattern that names the component ("hub", "workspace", "runner").
void InitLogging(const std::string& component, const std::string& level);

}  // namespace pg
