// Runs every case of AWS's SigV4 test suite ($PG_SHARED_DIR/aws/sigv4-test-suite)
// through the header signer and compares every intermediate artefact.
#include "aws/sigv4.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "testing/testing.h"

namespace pg::aws {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::chrono::system_clock::time_point ParseIso(const std::string& s) {
  std::tm tm{};
  strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

struct Case {
  SignableRequest req;
  Credentials creds;
  SignOptions opts;
};

Case Load(const fs::path& dir) {
  Case c;
  auto ctx = boost::json::parse(Slurp(dir / "context.json")).as_object();
  const auto& cr = ctx.at("credentials").as_object();
  c.creds.access_key_id = std::string(cr.at("access_key_id").as_string());
  c.creds.secret_access_key = std::string(cr.at("secret_access_key").as_string());
  if (cr.contains("token")) c.creds.session_token = std::string(cr.at("token").as_string());
  c.opts.region = std::string(ctx.at("region").as_string());
  c.opts.service = std::string(ctx.at("service").as_string());
  c.opts.time = ParseIso(std::string(ctx.at("timestamp").as_string()));
  c.opts.normalize_path = ctx.contains("normalize") ? ctx.at("normalize").as_bool() : true;
  c.opts.sign_body = ctx.contains("sign_body") && ctx.at("sign_body").as_bool();
  c.opts.omit_session_token = ctx.contains("omit_session_token") && ctx.at("omit_session_token").as_bool();

  std::string text = Slurp(dir / "request.txt");
  size_t eol = text.find('\n');
  std::string first = text.substr(0, eol);
  size_t sp = first.find(' ');
  size_t ver = first.rfind(" HTTP/");
  c.req.method = first.substr(0, sp);
  std::string target = first.substr(sp + 1, ver - sp - 1);
  size_t q = target.find('?');
  c.req.path = target.substr(0, q);
  if (q != std::string::npos) c.req.query = target.substr(q + 1);
  size_t pos = eol + 1;
  while (pos < text.size()) {
    size_t e = text.find('\n', pos);
    std::string line = text.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
    pos = e == std::string::npos ? text.size() : e + 1;
    if (line.empty()) break;
    size_t colon = line.find(':');
    c.req.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  if (pos < text.size()) c.req.body = text.substr(pos);
  return c;
}

std::string AuthorizationLine(const std::string& signed_request) {
  std::istringstream in(signed_request);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Authorization:", 0) == 0) return line.substr(14);
  }
  return "";
}

TEST(SigV4, EveryCaseOfTheSuite) {
  fs::path root = fs::path(pg::testing::SharedDir()) / "aws" / "sigv4-test-suite";
  ASSERT_TRUE(fs::is_directory(root)) << root;
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory() || !fs::exists(entry.path() / "header-signature.txt")) continue;
    SCOPED_TRACE(entry.path().filename().string());
    Case c = Load(entry.path());
    Signature s = SignRequest(c.req, c.creds, c.opts);
    EXPECT_EQ(s.canonical_request, Slurp(entry.path() / "header-canonical-request.txt"));
    EXPECT_EQ(s.string_to_sign, Slurp(entry.path() / "header-string-to-sign.txt"));
    EXPECT_EQ(s.signature, Slurp(entry.path() / "header-signature.txt"));
    EXPECT_EQ(s.authorization, AuthorizationLine(Slurp(entry.path() / "header-signed-request.txt")));
    ++cases;
  }
  EXPECT_GE(cases, 30);
}

TEST(SigV4, SessionTokenIsSignedUnlessOmitted) {
  SignableRequest r{"POST", "/", "", {{"Host", "ecs.us-east-1.amazonaws.com"}}, "{}"};
  Credentials c{"AKID", "SECRET", "TOKEN"};
  SignOptions o{"us-east-1", "ecs", std::chrono::system_clock::from_time_t(1440938160)};
  auto s = SignRequest(r, c, o);
  EXPECT_NE(s.authorization.find("SignedHeaders=host;x-amz-date;x-amz-security-token"), std::string::npos);
  SignableRequest r2{"POST", "/", "", {{"Host", "ecs.us-east-1.amazonaws.com"}}, "{}"};
  o.omit_session_token = true;
  auto s2 = SignRequest(r2, c, o);
  EXPECT_NE(s2.authorization.find("SignedHeaders=host;x-amz-date,"), std::string::npos);
  EXPECT_EQ(r2.headers.back().first, "X-Amz-Security-Token");
  EXPECT_NE(s.signature, s2.signature);
}

TEST(SigV4, ResigningReplacesOldHeaders) {
  SignableRequest r{"GET", "/a b/", "x=1", {{"Host", "h"}}, ""};
  Credentials c{"AKID", "SECRET", ""};
  SignOptions o{"eu-west-1", "elasticfilesystem", std::chrono::system_clock::from_time_t(1440938160)};
  auto s1 = SignRequest(r, c, o);
  auto s2 = SignRequest(r, c, o);
  EXPECT_EQ(s1.signature, s2.signature);
  EXPECT_EQ(r.headers.size(), 3u);  // Host, X-Amz-Date, Authorization
  EXPECT_NE(s1.canonical_request.find("\n/a%20b/\nx=1\n"), std::string::npos);
}

}  // namespace
}  // namespace pg::aws
