// AWS Signature Version 4 request signing (header form).
//
// SignRequest() adds X-Amz-Date, X-Amz-Security-Token (when the credentials
// carry a session token), optionally X-Amz-Content-Sha256, and Authorization
// to a request. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pg::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  // When temporary credentials stop working; time_point::max() for keys
  // that do not expire.
  std::chrono::system_clock::time_point expiration = std::chrono::system_clock::time_point::max();
};

// What is signed. `path` is the request path as sent, before any
// percent-decoding ("/p/a b" or "/p/a%20b" both work: each segment is
// decoded then encoded once); `query` is the raw query string without '?'.
struct SignableRequest {
  std::string method;
  std::string path = "/";
  std::string query;
  std::vector<std::pair<std::string, std::string>> headers;  // must include Host
  std::string body;
};

struct SignOptions {
  std::string region;
  std::string service;  // signing name, e.g. "ecs", "elasticfilesystem"
  std::chrono::system_clock::time_point time;
  bool normalize_path = true;      // remove dot segments and empty segments
  bool sign_body = false;          // add and sign X-Amz-Content-Sha256
  bool omit_session_token = false; // add the token after signing (unsigned)
};

// The intermediate artefacts, for tests and debugging.
struct Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;      // lowercase hex
  std::string authorization;  // value of the Authorization header
};

// Signs `req` in place (adds headers) and returns the artefacts.
Signature SignRequest(SignableRequest& req, const Credentials& creds, const SignOptions& opts);

// "20150830T123600Z"
std::string AmzDate(std::chrono::system_clock::time_point t);
// RFC 3986 percent-encoding of everything but unreserved characters
// (and '/' when `keep_slash`).
std::string UriEncode(std::string_view s, bool keep_slash);

}  // namespace pg::aws
