// The registry: the durable id → playground mapping of the hub, in SQLite
// (WAL mode, synchronous=FULL) under the data dir, with versioned migrations.
// Every write is committed (and fsynced) before the call returns, so a state
// written here survives a hub killed right after.
//
// Thread-safe: one connection guarded by a mutex.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

struct sqlite3;

namespace pg::registry {

// Lifecycle states, as stored and as shown in the API.
inline constexpr const char* kCreating = "creating";
inline constexpr const char* kRunning = "running";
inline constexpr const char* kStopped = "stopped";
inline constexpr const char* kDeleting = "deleting";
inline constexpr const char* kFailed = "failed";

struct Playground {
  std::string id;
  std::string name;
  std::string template_name;
  std::string status;
  std::string reason;        // why it failed, or ""
  std::string owner;         // user id; "" = created by the admin
  std::string limits_json = "{}";
  std::map<std::string, std::string> resources;  // recorded by the orchestrator
  std::string orchestrator;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  int64_t last_used_at_ms = 0;
  int64_t seq = 0;  // insertion order, for pagination
};

struct Token {
  std::string hash;           // hex SHA-256 of the token
  std::string playground_id;  // "" for a user API key
  std::string user_id;        // "" for a playground token
  std::string role;           // owner | editor | viewer (playground tokens), user (API keys)
  std::string label;
  int64_t created_at_ms = 0;
  int64_t revoked_at_ms = 0;  // 0 while valid
};

struct User {
  std::string id;
  std::string name;
  int64_t created_at_ms = 0;
};

int64_t NowMs();

class Registry {
 public:
  // Opens (creating if needed) the database at `path` and runs migrations.
  static Result<std::unique_ptr<Registry>> Open(const std::string& path);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  int schema_version() const { return schema_version_; }

  // Inserts a playground and its first token in one transaction.
  Result<void> Create(const Playground& p, const Token& owner_token);
  Result<std::optional<Playground>> Get(const std::string& id);
  // Playgrounds with seq > after_seq in seq order, at most `limit`; only
  // those of `owner` unless `all_owners`.
  Result<std::vector<Playground>> List(int64_t after_seq, int limit, const std::string& owner, bool all_owners);
  Result<std::vector<Playground>> ListAll();
  Result<void> SetStatus(const std::string& id, const std::string& status, const std::string& reason = "");
  Result<void> SetResource(const std::string& id, const std::string& key, const std::string& value);
  Result<void> Touch(const std::string& id);  // last_used_at = now
  // Removes the playground's row and its tokens.
  Result<void> Delete(const std::string& id);

  Result<void> InsertToken(const Token& t);
  Result<std::optional<Token>> FindToken(const std::string& hash);
  Result<std::vector<Token>> ListTokens(const std::string& playground_id, const std::string& user_id);
  Result<bool> RevokeToken(const std::string& hash);

  Result<void> InsertUser(const User& u);
  Result<std::optional<User>> GetUser(const std::string& id);
  Result<std::vector<User>> ListUsers();
  Result<bool> DeleteUser(const std::string& id);

 private:
  Registry() = default;
  Result<void> Exec(const char* sql);
  Result<void> Migrate();

  sqlite3* db_ = nullptr;
  std::mutex mu_;
  int schema_version_ = 0;
};

}  // namespace pg::registry
