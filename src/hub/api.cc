#include "hub/api.h"

#include <spdlog/spdlog.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>

#include <boost/json.hpp>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/crypto.h"
#include "common/json.h"
#include "hub/proxy.h"
#include "orchestrator/templates.h"

namespace pg::hub {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using registry::Playground;

struct Api::Ctx {
  http::Request& req;
  http::Stream& stream;
  beast::flat_buffer& buf;
  http::Target target;
};

namespace {

std::string Rfc3339(int64_t ms) {
  if (ms <= 0) return "";
  time_t secs = ms / 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[80];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

http::Response Json(const http::Request& req, bhttp::status status, const json::value& v) {
  return http::MakeResponse(req, status, json::serialize(v));
}

http::Response Err(const http::Request& req, const Error& e) { return http::ErrorResponse(req, e); }

Error Unauthorized() { return Error::Make("unauthorized", "missing or invalid token", 401); }
Error Forbidden(const std::string& what) { return Error::Make("forbidden", what, 403); }
Error MethodNotAllowed() { return Error::Make("method_not_allowed", "method not allowed", 405); }
Error NotFoundPg() { return Error::NotFound("no such playground"); }

std::string HostOf(const http::Request& req) {
  auto it = req.find(bhttp::field::host);
  return it == req.end() ? "localhost" : std::string(it->value());
}

bool IsUpgrade(const http::Request& req) {
  auto it = req.find(bhttp::field::upgrade);
  return it != req.end() && strcasecmp(std::string(it->value()).c_str(), "websocket") == 0;
}

// Origin must be the hub's own (same host:port) for WebSocket upgrades from
// browsers; requests without Origin (API clients) pass.
bool OriginAllowed(const http::Request& req) {
  auto it = req.find(bhttp::field::origin);
  if (it == req.end()) return true;
  std::string origin(it->value());
  std::string host = HostOf(req);
  return origin == "http://" + host || origin == "https://" + host;
}

std::string ContentType(const std::string& path) {
  auto ends = [&](const char* s) { return path.size() >= strlen(s) && path.compare(path.size() - strlen(s), strlen(s), s) == 0; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".ico")) return "image/x-icon";
  if (ends(".woff2")) return "font/woff2";
  if (ends(".json") || ends(".map")) return "application/json";
  if (ends(".wasm")) return "application/wasm";
  return "application/octet-stream";
}

std::string SetCookie(const std::string& name, const std::string& value) {
  return name + "=" + value + "; Path=/; HttpOnly; SameSite=Lax; Max-Age=2592000";
}

std::string ClientAddress(http::Stream& stream) {
  boost::system::error_code ec;
  auto ep = stream.socket().remote_endpoint(ec);
  if (ec) return "?";
  char buf[INET6_ADDRSTRLEN] = "";
  const sockaddr* sa = static_cast<const sockaddr*>(ep.data());
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  } else {
    return "unix";
  }
  return buf;
}

// Token ids shown by the API: a prefix of the token's hash (not a secret).
std::string TokenId(const registry::Token& t) { return t.hash.substr(0, 16); }

json::object TokenJson(const registry::Token& t) {
  json::object o{{"id", TokenId(t)}, {"label", t.label}, {"created_at", Rfc3339(t.created_at_ms)}};
  if (!t.playground_id.empty()) o["role"] = t.role;
  o["revoked_at"] = t.revoked_at_ms ? json::value(Rfc3339(t.revoked_at_ms)) : json::value(nullptr);
  return o;
}

Result<std::string> LabelFrom(JsonReader& r) {
  PG_ASSIGN_OR_RETURN(auto label, r.String("label"));
  if (!label) return std::string();
  if (label->size() > 100) return Error::BadRequest("invalid_value", "label is longer than 100 characters");
  for (unsigned char ch : *label) {
    if (ch < 0x20 || ch == 0x7f) return Error::BadRequest("invalid_value", "label has control characters");
  }
  return *label;
}

}  // namespace

std::optional<http::Response> Api::Limit(Ctx& ctx, RateLimiter& ip, RateLimiter& tok) {
  if (!ip.enabled()) return std::nullopt;
  int wait = ip.Take(ClientAddress(ctx.stream));
  if (wait == 0) {
    std::string token = TokenOf(ctx.req, "");
    if (!token.empty()) wait = tok.Take(Sha256Hex(token));
  }
  if (wait == 0) return std::nullopt;
  http::Response res = Err(ctx.req, Error::Make("rate_limited", "too many requests; retry later", 429));
  res.set(bhttp::field::retry_after, std::to_string(wait));
  return res;
}

Api::Api(asio::any_io_executor io, asio::thread_pool* pool, registry::Registry* reg, Lifecycle* life, RouteTable* routes,
         Authenticator* auth, ApiConfig config)
    : io_(std::move(io)),
      pool_(pool),
      reg_(reg),
      life_(life),
      routes_(routes),
      auth_(auth),
      config_(std::move(config)),
      api_ip_(config_.api_rate),
      api_token_(config_.api_rate),
      run_ip_(config_.run_rate),
      run_token_(config_.run_rate) {}

asio::awaitable<std::optional<http::Response>> Api::Handle(http::Request& req, http::Stream& stream,
                                                           beast::flat_buffer& buf) {
  auto target = http::ParseTarget(req.target());
  if (!target.ok()) co_return Err(req, target.error());
  Ctx ctx{req, stream, buf, std::move(*target)};
  const std::string& path = ctx.target.path;
  bool control = path == "/login" || (path.rfind("/api/", 0) == 0 && path.find("/files") == std::string::npos);
  if (control) {
    if (auto limited = Limit(ctx, api_ip_, api_token_)) co_return std::move(*limited);
  }
  co_return co_await Route(ctx);
}

Result<std::pair<Playground, Role>> Api::Visible(const Caller& caller, const std::string& id) {
  if (!IsValidPlaygroundId(id)) return NotFoundPg();
  PG_ASSIGN_OR_RETURN(auto row, reg_->Get(id));
  if (!row) return NotFoundPg();
  Role role = caller.RoleOn(*row);
  if (role == Role::kNone) return NotFoundPg();
  return std::make_pair(std::move(*row), role);
}

asio::awaitable<std::optional<http::Response>> Api::Route(Ctx& ctx) {
  const std::string& path = ctx.target.path;
  auto& req = ctx.req;

  // Host-based routing: <id>.<base-domain> maps onto /p/<id>/...
  if (!config_.base_domain.empty()) {
    std::string host = HostOf(req);
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']') == std::string::npos) host = host.substr(0, colon);
    std::string suffix = "." + config_.base_domain;
    if (host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string id = host.substr(0, host.size() - suffix.size());
      if (path == "/workspace" || path == "/run" || path.rfind("/files/", 0) == 0 || path == "/files") {
        std::string kind = path == "/workspace" ? "workspace" : path == "/run" ? "run" : "files";
        std::string rest = kind == "files" ? (path.size() > 7 ? ctx.target.raw_path.substr(7) : "") : "";
        co_return co_await PlaygroundProxy(ctx, id, kind, rest);
      }
      if (path.rfind("/api/", 0) != 0 && path.rfind("/assets/", 0) != 0) {
        if (auto tok = ctx.target.Query("token")) {
          Caller c = auth_->FromToken(*tok);
          auto vis = Visible(c, id);
          if (!vis.ok()) co_return Err(req, c.authenticated ? vis.error() : Unauthorized());
          http::Response res = http::MakeResponse(req, bhttp::status::found, "", "");
          res.set(bhttp::field::set_cookie, SetCookie("pg_t_" + id, *tok));
          res.set(bhttp::field::location, "/");
          co_return res;
        }
        co_return Static(ctx, "/index.html");
      }
    }
  }

  if (path == "/healthz") co_return Json(req, bhttp::status::ok, json::object{{"ok", true}});
  if (path == "/login") co_return Login(ctx);

  static const std::string kApi = "/api/v1/playgrounds";
  if (path == kApi || path == kApi + "/") {
    if (req.method() == bhttp::verb::get) co_return co_await ListPlaygrounds(ctx);
    if (req.method() == bhttp::verb::post) co_return co_await CreatePlayground(ctx);
    co_return Err(req, MethodNotAllowed());
  }
  if (path.rfind(kApi + "/", 0) == 0) {
    // Work on the raw path so that percent-encoded file paths survive.
    std::string raw = ctx.target.raw_path.substr(kApi.size() + 1);
    size_t slash = raw.find('/');
    std::string id = raw.substr(0, slash);
    std::string rest = slash == std::string::npos ? "" : raw.substr(slash + 1);
    if (rest.rfind("files", 0) == 0 && (rest.size() == 5 || rest[5] == '/')) {
      std::string kind = "files", sub = rest.size() > 6 ? rest.substr(6) : "";
      co_return co_await PlaygroundProxy(ctx, id, kind, sub);
    }
    if (rest == "runs" || rest.rfind("runs/", 0) == 0 || rest == "languages") {
      std::string kind = "runs";
      co_return co_await PlaygroundProxy(ctx, id, kind, rest);
    }
    co_return co_await PlaygroundCall(ctx, id, rest);
  }
  if (path == "/api/v1/users" || path.rfind("/api/v1/users/", 0) == 0) {
    // "" or "/{id}[/keys[/{key_id}]]" (the part after "/api/v1/users").
    std::string rest = path.substr(13);
    co_return Users(ctx, rest);
  }
  if (path.rfind("/api/", 0) == 0) co_return Err(req, Error::NotFound("no such API endpoint: " + path));

  if (path.rfind("/p/", 0) == 0) {
    std::string raw = ctx.target.raw_path.substr(3);
    size_t slash = raw.find('/');
    std::string id = raw.substr(0, slash);
    std::string rest = slash == std::string::npos ? "" : raw.substr(slash + 1);
    // Arguments of coroutine calls are named locals: see OffLoop in api.h.
    std::string kind, sub;
    if (rest == "workspace" || rest == "run") kind = rest;
    if (rest.rfind("files/", 0) == 0 || rest == "files") kind = "files", sub = rest.size() > 6 ? rest.substr(6) : "";
    if (!kind.empty()) co_return co_await PlaygroundProxy(ctx, id, kind, sub);
    if (auto tok = ctx.target.Query("token")) {
      // A share link: remember the token in a cookie, then drop it from the URL.
      Caller c = auth_->FromToken(*tok);
      auto vis = Visible(c, id);
      if (!vis.ok()) co_return Err(req, c.authenticated ? vis.error() : Unauthorized());
      http::Response res = http::MakeResponse(req, bhttp::status::found, "", "");
      res.set(bhttp::field::set_cookie, SetCookie("pg_t_" + id, *tok));
      res.set(bhttp::field::location, "/p/" + id + "/");
      co_return res;
    }
    if (slash == std::string::npos) {
      http::Response res = http::MakeResponse(req, bhttp::status::moved_permanently, "", "");
      res.set(bhttp::field::location, "/p/" + id + "/");
      co_return res;
    }
    co_return Static(ctx, "/index.html");
  }
  if (req.method() != bhttp::verb::get && req.method() != bhttp::verb::head) co_return Err(req, MethodNotAllowed());
  co_return Static(ctx, path == "/" ? "/index.html" : path);
}

// {"items": [token, ...]} of a playground's tokens or a user's API keys
// (never the secrets).
http::Response Api::TokenList(const http::Request& req, const std::string& playground_id,
                              const std::string& user_id) {
  auto list = reg_->ListTokens(playground_id, user_id);
  if (!list.ok()) return Err(req, list.error());
  json::array items;
  for (const auto& t : *list) items.push_back(TokenJson(t));
  return Json(req, bhttp::status::ok, json::object{{"items", std::move(items)}});
}

http::Response Api::Login(Ctx& ctx) {
  auto tok = ctx.target.Query("token");
  if (!tok) return Err(ctx.req, Error::BadRequest("missing_token", "login needs ?token="));
  Caller c = auth_->FromToken(*tok);
  if (!c.authenticated || (!c.admin && c.user_id.empty())) return Err(ctx.req, Unauthorized());
  http::Response res = http::MakeResponse(ctx.req, bhttp::status::found, "", "");
  res.set(bhttp::field::set_cookie, SetCookie("pg_session", *tok));
  std::string next = ctx.target.Query("next").value_or("/");
  if (next.empty() || next[0] != '/' || next.rfind("//", 0) == 0) next = "/";
  res.set(bhttp::field::location, next);
  return res;
}

http::Response Api::Static(Ctx& ctx, const std::string& path) {
  auto& req = ctx.req;
  if (path.find("..") != std::string::npos) return Err(req, Error::NotFound("not found"));
  auto it = static_cache_.find(path);
  if (it == static_cache_.end()) {
    std::ifstream f(config_.web_dir + path, std::ios::binary);
    if (!f) {
      if (path == "/index.html") {
        return http::MakeResponse(req, bhttp::status::ok,
                                  "<!doctype html><title>playground</title><p>The web IDE is not built. Run "
                                  "<code>make build</code>.</p>",
                                  "text/html; charset=utf-8");
      }
      if (path.rfind("/assets/", 0) != 0 && path.find('.') == std::string::npos) return Static(ctx, "/index.html");
      return Err(req, Error::NotFound("not found"));
    }
    std::stringstream ss;
    ss << f.rdbuf();
    it = static_cache_.emplace(path, std::make_pair(ContentType(path), ss.str())).first;
  }
  http::Response res = http::MakeResponse(req, bhttp::status::ok, it->second.second, it->second.first);
  if (path.rfind("/assets/", 0) == 0) {
    res.set(bhttp::field::cache_control, "public, max-age=31536000, immutable");
  } else {
    res.set(bhttp::field::cache_control, "no-cache");
  }
  res.set("X-Content-Type-Options", "nosniff");
  return res;
}

http::Response Api::PlaygroundJson(const http::Request& req, const Playground& p, Role role, const std::string& token,
                                   bhttp::status status) {
  std::string host = HostOf(req);
  json::object o;
  o["id"] = p.id;
  o["name"] = p.name;
  o["template"] = p.template_name;
  o["status"] = p.status;
  if (!p.reason.empty()) o["reason"] = p.reason;
  if (!token.empty()) o["token"] = token;
  o["created_at"] = Rfc3339(p.created_at_ms);
  o["last_used_at"] = Rfc3339(p.last_used_at_ms);
  o["orchestrator"] = p.orchestrator;
  o["role"] = RoleName(role);
  auto limits = json::parse(p.limits_json);
  o["limits"] = limits;
  if (p.status == registry::kRunning) {
    auto h = life_->orchestrator()->Status(p.id);
    o["restarts"] = h.restarts;
    if (!h.detail.empty()) o["detail"] = h.detail;
  }
  json::object urls;
  urls["ide"] = "http://" + host + "/p/" + p.id + "/";
  urls["workspace"] = "ws://" + host + "/p/" + p.id + "/workspace";
  urls["run"] = "ws://" + host + "/p/" + p.id + "/run";
  o["urls"] = std::move(urls);
  return Json(req, status, o);
}

asio::awaitable<http::Response> Api::ListPlaygrounds(Ctx& ctx) {
  auto& req = ctx.req;
  Caller caller = auth_->FromRequest(req, "");
  if (!caller.authenticated) co_return Err(req, Unauthorized());
  if (!caller.admin && caller.user_id.empty()) co_return Err(req, Forbidden("a playground token cannot list playgrounds"));
  int64_t limit = 50;
  if (auto l = ctx.target.Query("limit")) {
    char* end = nullptr;
    limit = std::strtoll(l->c_str(), &end, 10);
    if (l->empty() || *end || limit < 1 || limit > 500)
      co_return Err(req, Error::BadRequest("invalid_value", "limit must be an integer from 1 to 500"));
  }
  int64_t after = 0;
  if (auto c = ctx.target.Query("cursor"); c && !c->empty()) {
    char* end = nullptr;
    after = std::strtoll(c->c_str(), &end, 10);
    if (*end || after < 0) co_return Err(req, Error::BadRequest("invalid_value", "bad cursor"));
  }
  auto rows = reg_->List(after, static_cast<int>(limit) + 1, caller.user_id, caller.admin);
  if (!rows.ok()) co_return Err(req, rows.error());
  json::array items;
  bool more = rows->size() > static_cast<size_t>(limit);
  if (more) rows->pop_back();
  for (const auto& p : *rows) {
    auto r = PlaygroundJson(req, p, caller.RoleOn(p), "", bhttp::status::ok);
    items.push_back(json::parse(r.body()));
  }
  json::object out;
  out["items"] = std::move(items);
  if (more) {
    out["next_cursor"] = std::to_string(rows->back().seq);
  } else {
    out["next_cursor"] = nullptr;
  }
  co_return Json(req, bhttp::status::ok, out);
}

asio::awaitable<http::Response> Api::CreatePlayground(Ctx& ctx) {
  auto& req = ctx.req;
  Caller caller = auth_->FromRequest(req, "");
  if (!caller.authenticated) co_return Err(req, Unauthorized());
  if (!caller.admin && caller.user_id.empty()) co_return Err(req, Forbidden("a playground token cannot create playgrounds"));
  auto body = ParseJsonObject(req.body());
  if (!body.ok()) co_return Err(req, body.error());
  JsonReader r(*body);
  if (auto ok = r.Only({"name", "template", "limits", "wait"}); !ok.ok()) co_return Err(req, ok.error());
  CreateParams params;
  params.owner = caller.user_id;
  auto name = r.String("name");
  if (!name.ok()) co_return Err(req, name.error());
  if (*name) {
    if ((*name)->size() > 100) co_return Err(req, Error::BadRequest("invalid_value", "name is longer than 100 characters"));
    for (unsigned char ch : **name) {
      if (ch < 0x20 || ch == 0x7f) co_return Err(req, Error::BadRequest("invalid_value", "name has control characters"));
    }
    params.name = **name;
  }
  auto tmpl = r.String("template");
  if (!tmpl.ok()) co_return Err(req, tmpl.error());
  if (*tmpl) {
    if (!orchestrator::FindTemplate(**tmpl)) {
      std::string names;
      for (const auto& n : orchestrator::TemplateNames()) names += (names.empty() ? "" : ", ") + n;
      co_return Err(req, Error::BadRequest("invalid_value", "template must be one of: " + names));
    }
    params.template_name = **tmpl;
  }
  auto limits = r.Object("limits");
  if (!limits.ok()) co_return Err(req, limits.error());
  if (*limits) {
    JsonReader lr(**limits, "limits");
    if (auto ok = lr.Only({"memory_mb", "cpu_millis", "pids", "disk_mb"}); !ok.ok()) co_return Err(req, ok.error());
    struct {
      const char* key;
      int64_t min, max;
      int64_t* out;
    } fields[] = {{"memory_mb", 64, 16384, &params.limits.memory_mb},
                  {"cpu_millis", 100, 16000, &params.limits.cpu_millis},
                  {"pids", 16, 4096, &params.limits.pids},
                  {"disk_mb", 16, 102400, &params.limits.disk_mb}};
    for (auto& f : fields) {
      auto v = lr.Int(f.key, f.min, f.max);
      if (!v.ok()) co_return Err(req, v.error());
      if (*v) *f.out = **v;
    }
  }
  auto wait = r.Bool("wait");
  if (!wait.ok()) co_return Err(req, wait.error());
  bool should_wait = wait->value_or(true);

  Lifecycle* life = life_;
  // Closures are named locals, never temporaries inside a co_await
  // expression: g++ 12 destroys such temporaries twice.
  auto register_job = [life, params] { return life->Register(params); };
  auto created = co_await OffLoop(pool_, register_job);
  if (!created.ok()) co_return Err(req, created.error());
  std::string id = created->playground.id;
  if (!should_wait) {
    asio::post(*pool_, [life, id] { (void)life->Provision(id); });
    co_return PlaygroundJson(req, created->playground, Role::kOwner, created->token, bhttp::status::accepted);
  }
  auto provision_job = [life, id] { return life->Provision(id); };
  auto p = co_await OffLoop(pool_, provision_job);
  if (!p.ok()) co_return Err(req, p.error());
  co_return PlaygroundJson(req, *p, Role::kOwner, created->token, bhttp::status::created);
}

asio::awaitable<http::Response> Api::PlaygroundCall(Ctx& ctx, std::string id, std::string rest) {
  auto& req = ctx.req;
  Caller caller = auth_->FromRequest(req, id);
  if (!caller.authenticated) co_return Err(req, Unauthorized());
  auto vis = Visible(caller, id);
  if (!vis.ok()) co_return Err(req, vis.error());
  auto& [p, role] = *vis;
  Lifecycle* life = life_;
  if (rest.empty()) {
    if (req.method() == bhttp::verb::get) co_return PlaygroundJson(req, p, role, "", bhttp::status::ok);
    if (req.method() == bhttp::verb::delete_) {
      if (role < Role::kOwner) co_return Err(req, Forbidden("only the owner may delete a playground"));
      auto delete_job = [life, id] { return life->Delete(id); };
      auto r = co_await OffLoop(pool_, delete_job);
      if (!r.ok()) co_return Err(req, r.error());
      co_return http::NoContent(req);
    }
    co_return Err(req, MethodNotAllowed());
  }
  if (rest == "stop" || rest == "start") {
    if (req.method() != bhttp::verb::post) co_return Err(req, MethodNotAllowed());
    if (role < Role::kOwner) co_return Err(req, Forbidden("only the owner may " + rest + " a playground"));
    bool stop = rest == "stop";
    auto job = [life, id, stop] { return stop ? life->Stop(id) : life->Start(id); };
    auto r = co_await OffLoop(pool_, job);
    if (!r.ok()) co_return Err(req, r.error());
    co_return PlaygroundJson(req, *r, role, "", bhttp::status::ok);
  }
  if (rest == "tokens" || rest.rfind("tokens/", 0) == 0) co_return Tokens(ctx, caller, p, role, rest.substr(6));
  co_return Err(req, Error::NotFound("no such API endpoint"));
}

http::Response Api::Tokens(Ctx& ctx, const Caller& caller, const Playground& p, Role role, const std::string& rest) {
  auto& req = ctx.req;
  if (role < Role::kOwner) return Err(req, Forbidden("only the owner may manage tokens"));
  (void)caller;
  if (rest.empty() || rest == "/") {
    if (req.method() == bhttp::verb::get) {
      return TokenList(req, p.id, "");
    }
    if (req.method() != bhttp::verb::post) return Err(req, MethodNotAllowed());
    auto body = ParseJsonObject(req.body());
    if (!body.ok()) return Err(req, body.error());
    JsonReader r(*body);
    if (auto ok = r.Only({"role", "label"}); !ok.ok()) return Err(req, ok.error());
    auto role_s = r.String("role");
    if (!role_s.ok()) return Err(req, role_s.error());
    Role new_role = *role_s ? RoleFromString(**role_s) : Role::kViewer;
    if (new_role == Role::kNone)
      return Err(req, Error::BadRequest("invalid_value", "role must be one of: owner, editor, viewer"));
    auto label = LabelFrom(r);
    if (!label.ok()) return Err(req, label.error());
    std::string token = "pgt_" + RandomToken(32);
    registry::Token t;
    t.hash = Sha256Hex(token);
    t.playground_id = p.id;
    t.role = RoleName(new_role);
    t.label = *label;
    t.created_at_ms = registry::NowMs();
    if (auto ok = reg_->InsertToken(t); !ok.ok()) return Err(req, ok.error());
    json::object o = TokenJson(t);
    o["token"] = token;
    o["url"] = "http://" + HostOf(req) + "/p/" + p.id + "/?token=" + token;
    return Json(req, bhttp::status::created, o);
  }
  std::string tid = rest.substr(1);
  if (req.method() != bhttp::verb::delete_) return Err(req, MethodNotAllowed());
  auto list = reg_->ListTokens(p.id, "");
  if (!list.ok()) return Err(req, list.error());
  for (const auto& t : *list) {
    if (TokenId(t) != tid) continue;
    auto ok = reg_->RevokeToken(t.hash);
    if (!ok.ok()) return Err(req, ok.error());
    size_t closed = conns_.Revoke(t.hash);
    spdlog::info("token {} of {} revoked; {} connection(s) closed", tid, p.id, closed);
    return http::NoContent(req);
  }
  return Err(req, Error::NotFound("no such token"));
}

http::Response Api::Users(Ctx& ctx, const std::string& rest) {
  auto& req = ctx.req;
  Caller caller = auth_->FromRequest(req, "");
  if (!caller.authenticated) return Err(req, Unauthorized());
  if (!caller.admin && caller.user_id.empty()) return Err(req, Forbidden("a playground token cannot manage users"));
  auto new_key = [&](const std::string& user_id, const std::string& label, json::object* out) -> Result<void> {
    std::string key = "pgu_" + RandomToken(32);
    registry::Token t;
    t.hash = Sha256Hex(key);
    t.user_id = user_id;
    t.role = "user";
    t.label = label;
    t.created_at_ms = registry::NowMs();
    PG_RETURN_IF_ERROR(reg_->InsertToken(t));
    *out = TokenJson(t);
    (*out)["api_key"] = key;
    return Ok();
  };
  if (rest.empty() || rest == "/") {
    if (!caller.admin) return Err(req, Forbidden("only the admin manages users"));
    if (req.method() == bhttp::verb::get) {
      auto users = reg_->ListUsers();
      if (!users.ok()) return Err(req, users.error());
      json::array items;
      for (const auto& u : *users)
        items.push_back(json::object{{"id", u.id}, {"name", u.name}, {"created_at", Rfc3339(u.created_at_ms)}});
      return Json(req, bhttp::status::ok, json::object{{"items", std::move(items)}});
    }
    if (req.method() != bhttp::verb::post) return Err(req, MethodNotAllowed());
    auto body = ParseJsonObject(req.body());
    if (!body.ok()) return Err(req, body.error());
    JsonReader r(*body);
    if (auto ok = r.Only({"name"}); !ok.ok()) return Err(req, ok.error());
    auto name = r.String("name");
    if (!name.ok()) return Err(req, name.error());
    if (!*name || (*name)->empty() || (*name)->size() > 100)
      return Err(req, Error::BadRequest("invalid_value", "name is required (1 to 100 characters)"));
    for (unsigned char ch : **name) {
      if (ch < 0x20 || ch == 0x7f) return Err(req, Error::BadRequest("invalid_value", "name has control characters"));
    }
    registry::User u{"u_" + NewPlaygroundId().substr(0, 16), **name, registry::NowMs()};
    if (auto ok = reg_->InsertUser(u); !ok.ok()) return Err(req, ok.error());
    json::object key;
    if (auto ok = new_key(u.id, "initial", &key); !ok.ok()) return Err(req, ok.error());
    json::object o{{"id", u.id}, {"name", u.name}, {"created_at", Rfc3339(u.created_at_ms)}};
    o["api_key"] = key["api_key"];
    o["key_id"] = key["id"];
    return Json(req, bhttp::status::created, o);
  }
  // /{id}[/keys[/{key_id}]]
  std::string sub = rest.substr(1);
  size_t slash = sub.find('/');
  std::string uid = sub.substr(0, slash);
  std::string tail = slash == std::string::npos ? "" : sub.substr(slash);
  // A user sees only itself; others' ids get the same 404 as missing ones.
  if (!caller.admin && caller.user_id != uid) return Err(req, Error::NotFound("no such user"));
  auto user = reg_->GetUser(uid);
  if (!user.ok()) return Err(req, user.error());
  if (!*user) return Err(req, Error::NotFound("no such user"));
  if (tail.empty()) {
    if (req.method() == bhttp::verb::get)
      return Json(req, bhttp::status::ok,
                  json::object{{"id", (*user)->id}, {"name", (*user)->name}, {"created_at", Rfc3339((*user)->created_at_ms)}});
    if (req.method() != bhttp::verb::delete_) return Err(req, MethodNotAllowed());
    if (!caller.admin) return Err(req, Forbidden("only the admin deletes users"));
    auto keys = reg_->ListTokens("", uid);
    auto ok = reg_->DeleteUser(uid);
    if (!ok.ok()) return Err(req, ok.error());
    if (keys.ok()) {
      for (const auto& k : *keys) conns_.Revoke(k.hash);
    }
    return http::NoContent(req);
  }
  if (tail == "/keys" || tail == "/keys/") {
    if (req.method() == bhttp::verb::get) {
      return TokenList(req, "", uid);
    }
    if (req.method() != bhttp::verb::post) return Err(req, MethodNotAllowed());
    auto body = ParseJsonObject(req.body());
    if (!body.ok()) return Err(req, body.error());
    JsonReader r(*body);
    if (auto ok = r.Only({"label"}); !ok.ok()) return Err(req, ok.error());
    auto label = LabelFrom(r);
    if (!label.ok()) return Err(req, label.error());
    json::object key;
    if (auto ok = new_key(uid, *label, &key); !ok.ok()) return Err(req, ok.error());
    return Json(req, bhttp::status::created, key);
  }
  if (tail.rfind("/keys/", 0) == 0) {
    if (req.method() != bhttp::verb::delete_) return Err(req, MethodNotAllowed());
    std::string kid = tail.substr(6);
    auto keys = reg_->ListTokens("", uid);
    if (!keys.ok()) return Err(req, keys.error());
    for (const auto& k : *keys) {
      if (TokenId(k) != kid) continue;
      auto ok = reg_->RevokeToken(k.hash);
      if (!ok.ok()) return Err(req, ok.error());
      conns_.Revoke(k.hash);
      return http::NoContent(req);
    }
    return Err(req, Error::NotFound("no such key"));
  }
  return Err(req, Error::NotFound("no such API endpoint"));
}

asio::awaitable<Result<orchestrator::Backends>> Api::EnsureRunning(std::string id) {
  if (auto r = routes_->Find(id)) co_return r->backends;
  Lifecycle* life = life_;
  auto start_job = [life, id] { return life->Start(id); };
  auto p = co_await OffLoop(pool_, start_job);
  if (!p.ok()) co_return p.error();
  if (auto r = routes_->Find(id)) co_return r->backends;
  co_return Error::Make("unavailable", "playground is " + p->status, 503);
}

void Api::TouchLater(const std::string& id) {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(touch_mu_);
    auto& t = touched_[id];
    if (t.time_since_epoch().count() != 0 && now - t < std::chrono::seconds(60)) return;
    t = now;
  }
  registry::Registry* reg = reg_;
  asio::post(*pool_, [reg, id] { (void)reg->Touch(id); });
}

asio::awaitable<std::optional<http::Response>> Api::PlaygroundProxy(Ctx& ctx, std::string id, std::string kind,
                                                                    std::string rest) {
  auto& req = ctx.req;
  Caller caller = auth_->FromRequest(req, id);
  if (!caller.authenticated) co_return Err(req, Unauthorized());
  // A routed playground exists; once its route knows the owner, the role
  // needs no registry read (see routes.h).
  Role role = Role::kNone;
  if (auto route = routes_->Find(id); route && route->owner) {
    role = caller.RoleOn(id, *route->owner);
    if (role == Role::kNone) co_return Err(req, NotFoundPg());
  } else {
    auto vis = Visible(caller, id);
    if (!vis.ok()) co_return Err(req, vis.error());
    role = vis->second;
    if (route) routes_->SetOwner(id, vis->first.owner);
  }
  bool upgrade = IsUpgrade(req);

  // What the role allows.
  bool writes = req.method() != bhttp::verb::get && req.method() != bhttp::verb::head;
  if (kind == "files" && writes && role < Role::kEditor) co_return Err(req, Forbidden("viewers may not change files"));
  if (kind == "runs" && writes && role < Role::kEditor) co_return Err(req, Forbidden("viewers may not run code"));
  if (kind == "run" && role < Role::kEditor) co_return Err(req, Forbidden("viewers may not run code"));
  if ((kind == "workspace" || kind == "run") && !upgrade)
    co_return Err(req, Error::BadRequest("upgrade_required", "this endpoint is a WebSocket"));
  if (upgrade && !OriginAllowed(req)) co_return Err(req, Forbidden("cross-origin WebSocket refused"));
  if (kind == "run" || (kind == "runs" && req.method() == bhttp::verb::post)) {
    if (auto limited = Limit(ctx, run_ip_, run_token_)) co_return std::move(*limited);
  }

  if (kind == "files") {
    // The file path is relative to /workspace; an absolute one is a mistake
    // (and "..", symlinks and the rest are refused by the workspace server).
    auto decoded = http::PercentDecode(rest);
    if (!decoded.ok()) co_return Err(req, decoded.error());
    if (!decoded->empty() && (*decoded)[0] == '/')
      co_return Err(req, Error::BadRequest("invalid_path", "file paths are relative to /workspace"));
  }

  auto backends = co_await EnsureRunning(id);
  if (!backends.ok()) co_return Err(req, backends.error());
  TouchLater(id);

  // Never pass the caller's credentials on; tell the backend the role.
  req.erase(bhttp::field::authorization);
  req.erase(bhttp::field::cookie);
  req.set("X-Playground-Role", RoleName(role));

  // Revoking the caller's token closes this connection or request at once.
  auto cancel = std::make_shared<asio::steady_timer>(ctx.stream.get_executor(), asio::steady_timer::time_point::max());
  ConnectionGuard guard(&conns_, caller.token_hash, cancel);
  if (kind == "workspace" || kind == "run") {
    Endpoint ep = kind == "workspace" ? backends->workspace : backends->runner;
    std::string target = "/ws";
    PipeOptions pipe_options;
    if (kind == "workspace" && role < Role::kEditor) {
      // The workspace server does not know roles: the hub filters.
      target += "?readonly=1";
      static const auto refused = std::make_shared<const std::vector<std::string>>(
          std::vector<std::string>{"write", "create", "rename", "delete", "push"});
      std::string role_name = RoleName(role);
      auto refused_types = refused;
      co_await PipeWebSocketFiltered(ctx.stream, req, ep, target, role_name, pipe_options, cancel, refused_types);
      co_return std::nullopt;
    }
    co_await PipeUpgrade(ctx.stream, req, ctx.buf, ep, target, pipe_options, cancel);
    co_return std::nullopt;
  }
  std::string query;
  size_t q = std::string(req.target()).find('?');
  if (q != std::string::npos) query = std::string(req.target()).substr(q);
  Endpoint ep = kind == "files" ? backends->workspace : backends->runner;
  std::string target = kind == "files" ? "/files/" + rest + query : "/" + rest + query;
  auto timeout = kind == "runs" ? config_.run_timeout : std::chrono::milliseconds(60000);
  auto res = co_await ForwardHttp(ep, &req, target, timeout, cancel);
  if (!res.ok()) co_return Err(req, res.error());
  res->version(req.version());
  res->keep_alive(req.keep_alive());
  co_return std::move(*res);
}

}  // namespace pg::hub
