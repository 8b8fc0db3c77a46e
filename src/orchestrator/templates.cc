#include "orchestrator/templates.h"

#include <map>

namespace pg::orchestrator {
namespace {

const std::map<std::string, TemplateFiles>& All() {
  static const auto* all = new std::map<std::string, TemplateFiles>{
      {"python",
       {{"main.py",
         "def main():\n    name = input(\"What is your name? \")\n    print(f\"Hello, {name}!\")\n\n\n"
         "if __name__ == \"__main__\":\n    print(\"Hello, world!\")\n"},
        {"README.md", "# Python playground\n\nRun `main.py` with the Run button or Ctrl+Enter.\n"}}},
      {"c",
       {{"main.c", "#include <stdio.h>\n\nint main(void) {\n    printf(\"Hello, world!\\n\");\n    return 0;\n}\n"},
        {"README.md", "# C playground\n\nRun `main.c` with the Run button or Ctrl+Enter.\n"}}},
      {"cpp",
       {{"main.cpp",
         "#include <iostream>\n\nint main() {\n    std::cout << \"Hello, world!\" << std::endl;\n    return 0;\n}\n"},
        {"README.md", "# C++ playground\n\nRun `main.cpp` with the Run button or Ctrl+Enter.\n"}}},
      {"node",
       {{"main.js", "console.log(\"Hello, world!\");\n"},
        {"README.md", "# JavaScript playground\n\nRun `main.js` with the Run button or Ctrl+Enter.\n"}}},
      {"blank", {}},
  };
  return *all;
}

}  // namespace

const TemplateFiles* FindTemplate(const std::string& name) {
  auto it = All().find(name);
  return it == All().end() ? nullptr : &it->second;
}

std::vector<std::string> TemplateNames() {
  std::vector<std::string> out;
  for (const auto& [k, v] : All()) out.push_back(k);
  return out;
}

}  // namespace pg::orchestrator
