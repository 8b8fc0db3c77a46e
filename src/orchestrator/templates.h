// Starter files of each playground template ("python", "c", "cpp", "node",
// "blank"), compiled into the binary so every orchestrator seeds the same.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pg::orchestrator {

using TemplateFiles = std::vector<std::pair<std::string, std::string>>;  // path, content

// Null when `name` is not a template.
const TemplateFiles* FindTemplate(const std::string& name);
std::vector<std::string> TemplateNames();

}  // namespace pg::orchestrator
