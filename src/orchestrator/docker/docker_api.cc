#include "orchestrator/docker/docker_api.h"

#include <cstdio>
#include <cstring>
#include <set>

#include "common/fs.h"
#include "common/http_client.h"

namespace pg::orchestrator::docker {

Result<Reply> Api::Call(boost::beast::http::verb method, const std::string& path, std::string body,
                        std::string content_type, std::chrono::milliseconds timeout) const {
  http::ClientRequest req;
  req.method = method;
  req.url = "unix:" + socket_ + ":/" + std::string(kApiVersion) + path;
  req.timeout = timeout;
  if (!body.empty() || method == boost::beast::http::verb::post || method == boost::beast::http::verb::put) {
    req.headers.emplace_back("Content-Type", content_type);
  }
  req.body = std::move(body);
  auto res = http::Fetch(req);
  if (!res.ok()) {
    Error e = res.error();
    e.message = "docker engine at " + socket_ + ": " + e.message;
    if (e.status == 0) e.status = 503;
    return e;
  }
  return Reply{res->status, std::move(res->body)};
}

Result<json::value> Api::Json(boost::beast::http::verb method, const std::string& path, const json::value* body,
                              std::chrono::milliseconds timeout) const {
  PG_ASSIGN_OR_RETURN(Reply reply, Call(method, path, body ? json::serialize(*body) : std::string(),
                                        "application/json", timeout));
  if (reply.status < 200 || reply.status >= 300) {
    std::string message = reply.body;
    if (auto parsed = ParseJson(reply.body); parsed.ok() && parsed->is_object()) {
      if (auto* m = parsed->as_object().if_contains("message"); m && m->is_string()) {
        message = std::string(m->as_string());
      }
    }
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
    std::string what = std::string(boost::beast::http::to_string(method)) + " " + path + ": " + message;
    if (reply.status == 404) return Error::Make("not_found", what, 404);
    if (reply.status == 409) return Error::Make("conflict", what, 409);
    return Error::Make("docker_error", what + " (HTTP " + std::to_string(reply.status) + ")", 502);
  }
  if (reply.body.empty()) return json::value(nullptr);
  auto parsed = ParseJson(reply.body);
  if (!parsed.ok()) return Error::Make("docker_error", "unparsable reply to " + path + ": " + parsed.error().message, 502);
  return std::move(parsed).value();
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {

void PutOctal(char* field, size_t width, uint64_t value) {
  // width-1 octal digits and a NUL.
  std::snprintf(field, width, "%0*llo", static_cast<int>(width - 1), static_cast<unsigned long long>(value));
}

Result<std::string> TarHeader(const std::string& path, bool dir, uint64_t size, int uid, int gid) {
  char h[512];
  std::memset(h, 0, sizeof h);
  std::string name = dir ? path + "/" : path;
  std::string prefix;
  if (name.size() > 100) {
    // Split at a '/' so that the prefix fits 155 bytes and the rest 100.
    size_t cut = std::string::npos;
    for (size_t pos = name.find('/'); pos != std::string::npos && pos <= 155; pos = name.find('/', pos + 1)) {
      if (name.size() - pos - 1 <= 100 && pos + 1 < name.size()) {
        cut = pos;
        break;
      }
    }
    if (cut == std::string::npos) return Error::BadRequest("invalid_path", "path too long for a tar archive: " + path);
    prefix = name.substr(0, cut);
    name = name.substr(cut + 1);
  }
  std::memcpy(h, name.data(), name.size());
  PutOctal(h + 100, 8, dir ? 0755 : 0644);
  PutOctal(h + 108, 8, static_cast<uint64_t>(uid));
  PutOctal(h + 116, 8, static_cast<uint64_t>(gid));
  PutOctal(h + 124, 12, size);
  PutOctal(h + 136, 12, 0);
  h[156] = dir ? '5' : '0';
  std::memcpy(h + 257, "ustar", 6);
  std::memcpy(h + 263, "00", 2);
  std::memcpy(h + 345, prefix.data(), prefix.size());
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(h + 148, 8, "%06o", sum);  // six digits, NUL, and the space already there
  h[155] = ' ';
  return std::string(h, sizeof h);
}

}  // namespace

Result<std::string> MakeTar(const std::vector<std::pair<std::string, std::string>>& files, int uid, int gid) {
  std::string out;
  std::set<std::string> dirs;
  for (const auto& [raw_path, content] : files) {
    PG_ASSIGN_OR_RETURN(std::string path, NormalizeRelativePath(raw_path));
    for (size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1)) {
      std::string dir = path.substr(0, pos);
      if (dirs.insert(dir).second) {
        PG_ASSIGN_OR_RETURN(std::string header, TarHeader(dir, true, 0, uid, gid));
        out += header;
      }
    }
    PG_ASSIGN_OR_RETURN(std::string header, TarHeader(path, false, content.size(), uid, gid));
    out += header;
    out += content;
    out.append((512 - content.size() % 512) % 512, '\0');
  }
  out.append(1024, '\0');
  return out;
}

std::string DemuxLogs(std::string_view raw) {
  std::string out;
  while (raw.size() >= 8) {
    auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(raw[i])); };
    uint32_t len = (b(4) << 24) | (b(5) << 16) | (b(6) << 8) | b(7);
    raw.remove_prefix(8);
    size_t take = std::min<size_t>(len, raw.size());
    out.append(raw.substr(0, take));
    raw.remove_prefix(take);
  }
  return out;
}

}  // namespace pg::orchestrator::docker
