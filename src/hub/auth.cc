#include "hub/auth.h"

#include <strings.h>

#include "common/crypto.h"

namespace pg::hub {

Role RoleFromString(std::string_view s) {
  if (s == "owner") return Role::kOwner;
  if (s == "editor") return Role::kEditor;
  if (s == "viewer") return Role::kViewer;
  return Role::kNone;
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kOwner: return "owner";
    case Role::kEditor: return "editor";
    case Role::kViewer: return "viewer";
    default: return "none";
  }
}

Role Caller::RoleOn(const registry::Playground& p) const { return RoleOn(p.id, p.owner); }

Role Caller::RoleOn(const std::string& playground, const std::string& owner) const {
  if (!authenticated) return Role::kNone;
  if (admin) return Role::kOwner;
  if (!user_id.empty() && owner == user_id) return Role::kOwner;
  if (!playground_id.empty() && playground_id == playground) return role;
  return Role::kNone;
}

std::string CookieValue(const http::Request& req, std::string_view name) {
  auto it = req.find(http::bhttp::field::cookie);
  if (it == req.end()) return "";
  std::string_view all = it->value();
  while (!all.empty()) {
    size_t semi = all.find(';');
    std::string_view part = all.substr(0, semi);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
    if (semi == std::string_view::npos) break;
    all.remove_prefix(semi + 1);
  }
  return "";
}

std::string TokenOf(const http::Request& req, std::string_view playground_id) {
  auto it = req.find(http::bhttp::field::authorization);
  if (it != req.end()) {
    std::string_view v = it->value();
    if (v.size() > 7 && strncasecmp(v.data(), "Bearer ", 7) == 0) {
      v.remove_prefix(7);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return std::string(v);
    }
    return std::string(v);  // malformed: still a (wrong) credential, so 401 not anonymous
  }
  if (!playground_id.empty()) {
    std::string t = CookieValue(req, "pg_t_" + std::string(playground_id));
    if (!t.empty()) return t;
  }
  return CookieValue(req, "pg_session");
}

Caller Authenticator::FromToken(std::string_view token) const {
  Caller c;
  if (token.empty() || token.size() > 512) return c;
  if (!admin_token_.empty() && ConstantTimeEquals(token, admin_token_)) {
    c.authenticated = true;
    c.admin = true;
    c.role = Role::kOwner;
    return c;
  }
  std::string hash = Sha256Hex(token);
  auto t = reg_->FindToken(hash);
  if (!t.ok() || !t->has_value() || (*t)->revoked_at_ms != 0) return c;
  c.authenticated = true;
  c.token_hash = hash;
  if (!(*t)->user_id.empty()) {
    c.user_id = (*t)->user_id;
  } else {
    c.playground_id = (*t)->playground_id;
    c.role = RoleFromString((*t)->role);
  }
  return c;
}

Caller Authenticator::FromRequest(const http::Request& req, std::string_view playground_id) const {
  std::string token = TokenOf(req, playground_id);
  Caller c = FromToken(token);
  if (!c.authenticated && !playground_id.empty()) {
    // A stale session cookie must not hide a valid playground cookie.
    std::string pt = CookieValue(req, "pg_t_" + std::string(playground_id));
    if (!pt.empty() && pt != token) c = FromToken(pt);
  }
  return c;
}

}  // namespace pg::hub
