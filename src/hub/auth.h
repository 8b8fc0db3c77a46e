// Who is calling, and what they may do. Tokens travel as
// `Authorization: Bearer <token>` or in HttpOnly cookies set by the
// login-by-link flows (`pg_session` for the admin token or a user API key,
// `pg_t_<id>` for a playground token).
#pragma once

#include <string>
#include <string_view>

#include "common/http_server.h"
#include "registry/registry.h"

namespace pg::hub {

enum class Role { kNone = 0, kViewer = 1, kEditor = 2, kOwner = 3 };
Role RoleFromString(std::string_view s);
const char* RoleName(Role r);

struct Caller {
  bool authenticated = false;
  bool admin = false;
  std::string user_id;        // set for user API keys
  std::string playground_id;  // set for playground tokens
  Role role = Role::kNone;    // role of a playground token
  std::string token_hash;     // "" for the admin token

  // The role this caller has on playground `p` (admin and the owning user
  // are owners). kNone when it may not see it at all.
  Role RoleOn(const registry::Playground& p) const;
  // The same from the playground's id and owning user ("" = none).
  Role RoleOn(const std::string& playground, const std::string& owner) const;
};

class Authenticator {
 public:
  // `reg` must outlive this.
  Authenticator(registry::Registry* reg, std::string admin_token) : reg_(reg), admin_token_(std::move(admin_token)) {}

  // Identifies the caller from a raw token. Unknown or revoked → !authenticated.
  Caller FromToken(std::string_view token) const;
  // From the request: Bearer header first, then the cookie of `playground_id`
  // (when given), then the session cookie.
  Caller FromRequest(const http::Request& req, std::string_view playground_id) const;

  const std::string& admin_token() const { return admin_token_; }

 private:
  registry::Registry* reg_;
  std::string admin_token_;
};

// The token carried by the request (Bearer, then cookies), or "".
std::string TokenOf(const http::Request& req, std::string_view playground_id);
// Value of cookie `name`, or "".
std::string CookieValue(const http::Request& req, std::string_view name);

}  // namespace pg::hub
