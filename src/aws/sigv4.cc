#include "aws/sigv4.h"

#include <algorithm>
#include <ctime>
#include <map>

#include "common/crypto.h"

namespace pg::aws {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes %XX sequences; malformed ones stay as they are.
std::string Decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int h = HexVal(s[i + 1]), l = HexVal(s[i + 2]);
      if (h >= 0 && l >= 0) {
        out.push_back(static_cast<char>(h * 16 + l));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::string CanonicalPath(std::string_view path, bool normalize) {
  if (path.empty()) return "/";
  if (!normalize) {
    std::string out;
    auto segs = Split(path, '/');
    for (size_t i = 0; i < segs.size(); ++i) {
      if (i) out.push_back('/');
      out += UriEncode(Decode(segs[i]), false);
    }
    return out;
  }
  std::vector<std::string> stack;
  for (auto seg : Split(path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!stack.empty()) stack.pop_back();
      continue;
    }
    stack.push_back(UriEncode(Decode(seg), false));
  }
  std::string out = "/";
  for (size_t i = 0; i < stack.size(); ++i) {
    if (i) out.push_back('/');
    out += stack[i];
  }
  bool trailing = path.back() == '/' ;
  if (trailing && !stack.empty()) out.push_back('/');
  return out;
}

std::string CanonicalQuery(std::string_view query) {
  if (query.empty()) return "";
  std::vector<std::pair<std::string, std::string>> params;
  for (auto part : Split(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string k(part.substr(0, eq));
    std::string v(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1));
    params.emplace_back(UriEncode(Decode(k), false), UriEncode(Decode(v), false));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += k + "=" + v;
  }
  return out;
}

std::string TrimAll(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string AmzDate(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Signature SignRequest(SignableRequest& req, const Credentials& creds, const SignOptions& opts) {
  const std::string date = AmzDate(opts.time);
  const std::string day = date.substr(0, 8);
  const std::string payload_hash = Sha256Hex(req.body);
  // Drop headers we own, then add them.
  std::erase_if(req.headers, [](const auto& h) {
    std::string n = Lower(h.first);
    return n == "x-amz-date" || n == "authorization" || n == "x-amz-security-token" || n == "x-amz-content-sha256";
  });
  req.headers.emplace_back("X-Amz-Date", date);
  if (opts.sign_body) req.headers.emplace_back("X-Amz-Content-Sha256", payload_hash);
  if (!creds.session_token.empty() && !opts.omit_session_token)
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);

  std::map<std::string, std::string> canon;  // sorted by lowercase name
  for (const auto& [k, v] : req.headers) {
    std::string name = Lower(k);
    std::string value = TrimAll(v);
    auto it = canon.find(name);
    if (it == canon.end()) {
      canon.emplace(name, value);
    } else {
      it->second += "," + value;
    }
  }
  std::string headers_block, signed_headers;
  for (const auto& [k, v] : canon) {
    headers_block += k + ":" + v + "\n";
    if (!signed_headers.empty()) signed_headers.push_back(';');
    signed_headers += k;
  }
  Signature s;
  s.canonical_request = req.method + "\n" + CanonicalPath(req.path, opts.normalize_path) + "\n" +
                        CanonicalQuery(req.query) + "\n" + headers_block + "\n" + signed_headers + "\n" + payload_hash;
  const std::string scope = day + "/" + opts.region + "/" + opts.service + "/aws4_request";
  s.string_to_sign = "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + Sha256Hex(s.canonical_request);
  std::string k = HmacSha256("AWS4" + creds.secret_access_key, day);
  k = HmacSha256(k, opts.region);
  k = HmacSha256(k, opts.service);
  k = HmacSha256(k, "aws4_request");
  s.signature = HexEncode(HmacSha256(k, s.string_to_sign));
  s.authorization = "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
                    ", SignedHeaders=" + signed_headers + ", Signature=" + s.signature;
  req.headers.emplace_back("Authorization", s.authorization);
  if (!creds.session_token.empty() && opts.omit_session_token)
    req.headers.emplace_back("X-Amz-Security-Token", creds.session_token);
  return s;
}

}  // namespace pg::aws
