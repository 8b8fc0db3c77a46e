// The built-in language table. Edit here, or pass --languages FILE.
#include "runner/languages.h"

namespace pg::runner {

const char* DefaultLanguagesJson() {
  return R"JSON({"languages": [
  {"id": "python", "name": "Python 3", "extensions": [".py"],
   "run": ["python3", "-u", "{entry}", "{args}"],
   "version": ["python3", "--version"],
   "env": {"PYTHONDONTWRITEBYTECODE": "1"}},
  {"id": "c", "name": "C (gcc)", "extensions": [".c"], "inputs": [".h"],
   "compile": ["gcc", "-O2", "-std=gnu17", "-Wall", "-o", "{out}/main", "{sources}", "-lm"],
   "run": ["{out}/main", "{args}"],
   "version": ["gcc", "--version"]},
  {"id": "cpp", "name": "C++ (g++)", "extensions": [".cc", ".cpp", ".cxx"], "inputs": [".h", ".hh", ".hpp"],
   "compile": ["g++", "-O2", "-std=gnu++20", "-Wall", "-o", "{out}/main", "{sources}"],
   "run": ["{out}/main", "{args}"],
   "version": ["g++", "--version"]},
  {"id": "javascript", "name": "JavaScript (Node.js)", "extensions": [".js", ".mjs", ".cjs"],
   "run": ["node", "{entry}", "{args}"],
   "version": ["node", "--version"]},
  {"id": "bash", "name": "Bash", "extensions": [".sh", ".bash"],
   "run": ["bash", "{entry}", "{args}"],
   "version": ["bash", "--version"]},
  {"id": "go", "name": "Go", "extensions": [".go"],
   "compile": ["go", "build", "-o", "{out}/main", "{entry}"],
   "run": ["{out}/main", "{args}"],
   "version": ["go", "version"],
   "env": {"GOCACHE": "/tmp/go-cache", "GOPATH": "/tmp/go", "CGO_ENABLED": "0"}},
  {"id": "rust", "name": "Rust", "extensions": [".rs"],
   "compile": ["rustc", "-O", "-o", "{out}/main", "{entry}"],
   "run": ["{out}/main", "{args}"],
   "version": ["rustc", "--version"]},
  {"id": "java", "name": "Java", "extensions": [".java"],
   "compile": ["javac", "-J-Xms8m", "-J-XX:+UseSerialGC", "-J-XX:TieredStopAtLevel=1", "-d", "{out}", "{sources}"],
   "run": ["java", "-Xms8m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-cp", "{out}", "{entry_stem}", "{args}"],
   "version": ["java", "-version"]}
]})JSON";
}

}  // namespace pg::runner
