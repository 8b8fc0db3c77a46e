#include "registry/registry.h"

#include <sqlite3.h>

#include <boost/json.hpp>
#include <chrono>

namespace pg::registry {
namespace {

namespace json = boost::json;

// Migrations, applied in order; the schema version is PRAGMA user_version.
const char* const kMigrations[] = {
    // 1: playgrounds and tokens.
    R"sql(
    CREATE TABLE playgrounds (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      id TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL,
      template TEXT NOT NULL,
      status TEXT NOT NULL,
      reason TEXT NOT NULL DEFAULT '',
      owner TEXT NOT NULL DEFAULT '',
      limits TEXT NOT NULL DEFAULT '{}',
      resources TEXT NOT NULL DEFAULT '{}',
      orchestrator TEXT NOT NULL,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      last_used_at INTEGER NOT NULL
    );
    CREATE INDEX playgrounds_owner ON playgrounds(owner, seq);
    CREATE TABLE tokens (
      hash TEXT PRIMARY KEY,
      playground_id TEXT NOT NULL DEFAULT '',
      user_id TEXT NOT NULL DEFAULT '',
      role TEXT NOT NULL,
      label TEXT NOT NULL DEFAULT '',
      created_at INTEGER NOT NULL,
      revoked_at INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX tokens_playground ON tokens(playground_id);
    CREATE INDEX tokens_user ON tokens(user_id);
    )sql",
    // 2: users.
    R"sql(
    CREATE TABLE users (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      created_at INTEGER NOT NULL
    );
    )sql",
};

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(s_); }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s_, col)) : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
  Error Err(const std::string& what) const {
    return Error::Make("registry", what + ": " + sqlite3_errmsg(db_), 500);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

std::string ResourcesToJson(const std::map<std::string, std::string>& m) {
  json::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return json::serialize(o);
}

std::map<std::string, std::string> ResourcesFromJson(const std::string& s) {
  std::map<std::string, std::string> out;
  boost::system::error_code ec;
  auto v = json::parse(s, ec);
  if (ec || !v.is_object()) return out;
  for (const auto& kv : v.as_object()) {
    if (kv.value().is_string()) out[std::string(kv.key())] = std::string(kv.value().as_string());
  }
  return out;
}

constexpr const char* kPlaygroundCols =
    "seq, id, name, template, status, reason, owner, limits, resources, orchestrator, created_at, updated_at, "
    "last_used_at";

Playground ReadPlayground(const Stmt& s) {
  Playground p;
  p.seq = s.Int(0);
  p.id = s.Text(1);
  p.name = s.Text(2);
  p.template_name = s.Text(3);
  p.status = s.Text(4);
  p.reason = s.Text(5);
  p.owner = s.Text(6);
  p.limits_json = s.Text(7);
  p.resources = ResourcesFromJson(s.Text(8));
  p.orchestrator = s.Text(9);
  p.created_at_ms = s.Int(10);
  p.updated_at_ms = s.Int(11);
  p.last_used_at_ms = s.Int(12);
  return p;
}

Token ReadToken(const Stmt& s) {
  Token t;
  t.hash = s.Text(0);
  t.playground_id = s.Text(1);
  t.user_id = s.Text(2);
  t.role = s.Text(3);
  t.label = s.Text(4);
  t.created_at_ms = s.Int(5);
  t.revoked_at_ms = s.Int(6);
  return t;
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::unique_ptr<Registry>> Registry::Open(const std::string& path) {
  std::unique_ptr<Registry> r(new Registry());
  int rc = sqlite3_open_v2(path.c_str(), &r->db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    return Error::Make("registry", "cannot open " + path + ": " + (r->db_ ? sqlite3_errmsg(r->db_) : "out of memory"));
  }
  sqlite3_busy_timeout(r->db_, 5000);
  PG_RETURN_IF_ERROR(r->Exec("PRAGMA journal_mode=WAL"));
  PG_RETURN_IF_ERROR(r->Exec("PRAGMA synchronous=FULL"));
  PG_RETURN_IF_ERROR(r->Exec("PRAGMA foreign_keys=ON"));
  PG_RETURN_IF_ERROR(r->Migrate());
  return r;
}

Registry::~Registry() {
  if (db_) sqlite3_close_v2(db_);
}

Result<void> Registry::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return Error::Make("registry", msg, 500);
  }
  return Ok();
}

Result<void> Registry::Migrate() {
  Stmt v(db_, "PRAGMA user_version");
  if (v.Step() != SQLITE_ROW) return v.Err("read schema version");
  int version = static_cast<int>(v.Int(0));
  const int target = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
  if (version > target) {
    return Error::Make("registry", "registry schema version " + std::to_string(version) +
                                       " is newer than this binary supports (" + std::to_string(target) + ")");
  }
  for (int i = version; i < target; ++i) {
    PG_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    auto r = Exec(kMigrations[i]);
    if (r.ok()) r = Exec(("PRAGMA user_version=" + std::to_string(i + 1)).c_str());
    if (!r.ok()) {
      (void)Exec("ROLLBACK");
      return r;
    }
    PG_RETURN_IF_ERROR(Exec("COMMIT"));
  }
  schema_version_ = target;
  return Ok();
}

Result<void> Registry::Create(const Playground& p, const Token& t) {
  std::lock_guard lock(mu_);
  PG_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Stmt s(db_,
         "INSERT INTO playgrounds (id, name, template, status, reason, owner, limits, resources, orchestrator, "
         "created_at, updated_at, last_used_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
  s.Bind(1, p.id).Bind(2, p.name).Bind(3, p.template_name).Bind(4, p.status).Bind(5, p.reason).Bind(6, p.owner);
  s.Bind(7, p.limits_json).Bind(8, ResourcesToJson(p.resources)).Bind(9, p.orchestrator);
  s.Bind(10, p.created_at_ms).Bind(11, p.updated_at_ms).Bind(12, p.last_used_at_ms);
  if (s.Step() != SQLITE_DONE) {
    auto e = s.Err("insert playground");
    (void)Exec("ROLLBACK");
    return e;
  }
  Stmt ts(db_,
          "INSERT INTO tokens (hash, playground_id, user_id, role, label, created_at) VALUES (?,?,?,?,?,?)");
  ts.Bind(1, t.hash).Bind(2, t.playground_id).Bind(3, t.user_id).Bind(4, t.role).Bind(5, t.label);
  ts.Bind(6, t.created_at_ms);
  if (ts.Step() != SQLITE_DONE) {
    auto e = ts.Err("insert token");
    (void)Exec("ROLLBACK");
    return e;
  }
  return Exec("COMMIT");
}

Result<std::optional<Playground>> Registry::Get(const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kPlaygroundCols + " FROM playgrounds WHERE id = ?").c_str());
  s.Bind(1, id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<Playground>(ReadPlayground(s));
  if (rc == SQLITE_DONE) return std::optional<Playground>();
  return s.Err("get playground");
}

Result<std::vector<Playground>> Registry::List(int64_t after_seq, int limit, const std::string& owner,
                                               bool all_owners) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kPlaygroundCols + " FROM playgrounds WHERE seq > ?" +
                    (all_owners ? "" : " AND owner = ?") + " ORDER BY seq LIMIT ?";
  Stmt s(db_, sql.c_str());
  int i = 1;
  s.Bind(i++, after_seq);
  if (!all_owners) s.Bind(i++, owner);
  s.Bind(i++, static_cast<int64_t>(limit));
  std::vector<Playground> out;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return s.Err("list playgrounds");
    out.push_back(ReadPlayground(s));
  }
  return out;
}

Result<std::vector<Playground>> Registry::ListAll() { return List(0, INT32_MAX, "", true); }

Result<void> Registry::SetStatus(const std::string& id, const std::string& status, const std::string& reason) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "UPDATE playgrounds SET status = ?, reason = ?, updated_at = ? WHERE id = ?");
  s.Bind(1, status).Bind(2, reason).Bind(3, NowMs()).Bind(4, id);
  if (s.Step() != SQLITE_DONE) return s.Err("set status");
  return Ok();
}

Result<void> Registry::SetResource(const std::string& id, const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  // json_set keeps the update a single statement (atomic, one fsync).
  Stmt s(db_, "UPDATE playgrounds SET resources = json_set(resources, '$.' || json_quote(?), ?) WHERE id = ?");
  s.Bind(1, key).Bind(2, value).Bind(3, id);
  if (s.Step() != SQLITE_DONE) return s.Err("set resource");
  return Ok();
}

Result<void> Registry::Touch(const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "UPDATE playgrounds SET last_used_at = ? WHERE id = ?");
  s.Bind(1, NowMs()).Bind(2, id);
  if (s.Step() != SQLITE_DONE) return s.Err("touch");
  return Ok();
}

Result<void> Registry::Delete(const std::string& id) {
  std::lock_guard lock(mu_);
  PG_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Stmt t(db_, "DELETE FROM tokens WHERE playground_id = ?");
  t.Bind(1, id);
  Stmt s(db_, "DELETE FROM playgrounds WHERE id = ?");
  s.Bind(1, id);
  if (t.Step() != SQLITE_DONE || s.Step() != SQLITE_DONE) {
    auto e = s.Err("delete playground");
    (void)Exec("ROLLBACK");
    return e;
  }
  return Exec("COMMIT");
}

Result<void> Registry::InsertToken(const Token& t) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "INSERT INTO tokens (hash, playground_id, user_id, role, label, created_at) VALUES (?,?,?,?,?,?)");
  s.Bind(1, t.hash).Bind(2, t.playground_id).Bind(3, t.user_id).Bind(4, t.role).Bind(5, t.label);
  s.Bind(6, t.created_at_ms ? t.created_at_ms : NowMs());
  if (s.Step() != SQLITE_DONE) return s.Err("insert token");
  return Ok();
}

Result<std::optional<Token>> Registry::FindToken(const std::string& hash) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT hash, playground_id, user_id, role, label, created_at, revoked_at FROM tokens WHERE hash = ?");
  s.Bind(1, hash);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<Token>(ReadToken(s));
  if (rc == SQLITE_DONE) return std::optional<Token>();
  return s.Err("find token");
}

Result<std::vector<Token>> Registry::ListTokens(const std::string& playground_id, const std::string& user_id) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT hash, playground_id, user_id, role, label, created_at, revoked_at FROM tokens "
         "WHERE playground_id = ? AND user_id = ? ORDER BY created_at");
  s.Bind(1, playground_id).Bind(2, user_id);
  std::vector<Token> out;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return s.Err("list tokens");
    out.push_back(ReadToken(s));
  }
  return out;
}

Result<bool> Registry::RevokeToken(const std::string& hash) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "UPDATE tokens SET revoked_at = ? WHERE hash = ? AND revoked_at = 0");
  s.Bind(1, NowMs()).Bind(2, hash);
  if (s.Step() != SQLITE_DONE) return s.Err("revoke token");
  return sqlite3_changes(db_) > 0;
}

Result<void> Registry::InsertUser(const User& u) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "INSERT INTO users (id, name, created_at) VALUES (?,?,?)");
  s.Bind(1, u.id).Bind(2, u.name).Bind(3, u.created_at_ms ? u.created_at_ms : NowMs());
  if (s.Step() != SQLITE_DONE) return s.Err("insert user");
  return Ok();
}

Result<std::optional<User>> Registry::GetUser(const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT id, name, created_at FROM users WHERE id = ?");
  s.Bind(1, id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<User>(User{s.Text(0), s.Text(1), s.Int(2)});
  if (rc == SQLITE_DONE) return std::optional<User>();
  return s.Err("get user");
}

Result<std::vector<User>> Registry::ListUsers() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT id, name, created_at FROM users ORDER BY created_at");
  std::vector<User> out;
  for (;;) {
    int rc = s.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return s.Err("list users");
    out.push_back(User{s.Text(0), s.Text(1), s.Int(2)});
  }
  return out;
}

Result<bool> Registry::DeleteUser(const std::string& id) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "DELETE FROM users WHERE id = ?");
  s.Bind(1, id);
  if (s.Step() != SQLITE_DONE) return s.Err("delete user");
  bool deleted = sqlite3_changes(db_) > 0;
  Stmt t(db_, "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at = 0");
  t.Bind(1, NowMs()).Bind(2, id);
  if (t.Step() != SQLITE_DONE) return t.Err("revoke user tokens");
  return deleted;
}

}  // namespace pg::registry
