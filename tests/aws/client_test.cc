// The AWS client against small real HTTP servers: error parsing of the three
// protocols, the standard retry mode (throttling, 5xx, quota), endpoint
// resolution, and the credentials chain (environment, shared files with
// profiles, the ECS container endpoint, IMDSv2).
#include "aws/client.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <fstream>
#include <functional>
#include <thread>

#include "common/http_server.h"
#include "testing/testing.h"

namespace pg::aws {
namespace {

namespace asio = boost::asio;
using Fn = std::function<http::Response(const http::Request&)>;

asio::awaitable<std::optional<http::Response>> Call(Fn* fn, http::Request* req) { co_return (*fn)(*req); }

// A one-handler HTTP server on 127.0.0.1:0 run by its own thread.
class Server {
 public:
  explicit Server(Fn fn) : fn_(std::move(fn)) {
    server_ = std::make_unique<http::Server>(io_.get_executor(), [this](http::Request& r, http::Stream&, boost::beast::flat_buffer&) {
      return Call(&fn_, &r);
    });
    port_ = server_->Listen(Endpoint::Tcp("127.0.0.1", 0))->port;
    server_->Start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Server() {
    asio::post(io_, [this] {
      server_->Stop();
      io_.stop();
    });
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  Fn fn_;
  asio::io_context io_;
  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

http::Response Reply(const http::Request& req, int status, std::string body,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
  http::Response r{static_cast<boost::beast::http::status>(status), req.version()};
  for (auto& [k, v] : headers) r.set(k, v);
  r.body() = std::move(body);
  r.prepare_payload();
  return r;
}

ClientConfig Fast(const std::string& url) {
  ClientConfig c;
  c.region = "us-east-1";
  c.endpoint = url;
  c.retry.max_attempts = 3;
  c.retry.base_delay = std::chrono::milliseconds(1);
  c.retry.max_backoff = std::chrono::milliseconds(5);
  c.timeout = std::chrono::milliseconds(2000);
  return c;
}

std::shared_ptr<CredentialsProvider> Creds() { return StaticCredentials({"AKID", "SECRET", "TOKEN"}); }

TEST(AwsErrors, ParsesEachProtocol) {
  auto e1 = ParseAwsError(Protocol::kJson, 400,
                          R"({"__type":"com.amazonaws.ecs#ClusterNotFoundException","message":"Cluster not found."})", "");
  EXPECT_EQ(e1.code, "ClusterNotFoundException");
  EXPECT_NE(e1.message.find("Cluster not found."), std::string::npos);
  EXPECT_EQ(e1.status, 400);
  auto e2 = ParseAwsError(Protocol::kRestJson, 409, R"({"ErrorCode":"FileSystemInUse","Message":"in use"})",
                          "FileSystemInUse:http://internal.amazon.com/coral/com.amazon.efs/");
  EXPECT_EQ(e2.code, "FileSystemInUse");
  auto e3 = ParseAwsError(Protocol::kQuery, 400,
                          "<ErrorResponse xmlns=\"x\"><Error><Type>Sender</Type><Code>PriorityInUse</Code>"
                          "<Message>Priority &apos;5&apos; is in use</Message></Error><RequestId>r</RequestId></ErrorResponse>",
                          "");
  EXPECT_EQ(e3.code, "PriorityInUse");
  EXPECT_NE(e3.message.find("Priority '5' is in use"), std::string::npos);
  // Garbage bodies still give an error, never a crash.
  for (auto p : {Protocol::kJson, Protocol::kRestJson, Protocol::kQuery}) {
    for (const char* body : {"", "<", "{", "<a><b></a>", "\xff\xfe", "<Error><Code>&bogus;</Code></Error>"}) {
      auto e = ParseAwsError(p, 503, body, "");
      EXPECT_FALSE(e.code.empty());
      EXPECT_EQ(e.status, 503);
    }
  }
  EXPECT_TRUE(IsRetryable(ParseAwsError(Protocol::kJson, 400, R"({"__type":"ThrottlingException"})", "")));
  EXPECT_TRUE(IsRetryable(ParseAwsError(Protocol::kQuery, 400, "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>", "")));
  EXPECT_FALSE(IsRetryable(e1));
  EXPECT_FALSE(IsRetryable(e2));
}

TEST(AwsXml, RejectsMalformedDocuments) {
  for (const char* bad : {"", "text", "<a>", "<a></b>", "<a><b></a></b>", "<a x='1>", "<a>&#xZZ;</a>", "<a/><b/>"}) {
    EXPECT_FALSE(ParseXml(bad).ok()) << bad;
  }
  auto ok = ParseXml("<?xml version=\"1.0\"?><r:A xmlns:r=\"u\"><B>1 &amp; 2</B><!-- c --><C><![CDATA[<x>]]></C><B/></r:A>");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->name, "A");
  EXPECT_EQ(ok->Text("B"), "1 & 2");
  EXPECT_EQ(ok->Text("C"), "<x>");
  EXPECT_EQ(ok->Children("B").size(), 2u);
}

TEST(AwsClient, JsonProtocolSendsTargetAndSignsWithToken) {
  std::string target, auth, token, ctype;
  Server s([&](const http::Request& r) {
    target = std::string(r["X-Amz-Target"]);
    auth = std::string(r[boost::beast::http::field::authorization]);
    token = std::string(r["X-Amz-Security-Token"]);
    ctype = std::string(r[boost::beast::http::field::content_type]);
    return Reply(r, 200, R"({"taskArns":["a"]})");
  });
  Client c(Fast(s.url()), Creds());
  auto out = c.CallJson(kEcs, "ListTasks", {{"cluster", "x"}});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(target, "AmazonEC2ContainerServiceV20141113.ListTasks");
  EXPECT_EQ(ctype, "application/x-amz-json-1.1");
  EXPECT_EQ(token, "TOKEN");
  EXPECT_NE(auth.find("Credential=AKID/"), std::string::npos);
  EXPECT_NE(auth.find("/us-east-1/ecs/aws4_request"), std::string::npos);
  EXPECT_NE(auth.find("x-amz-security-token"), std::string::npos);
}

TEST(AwsClient, RetriesThrottlingAndServerErrorsThenSucceeds) {
  int calls = 0;
  Server s([&](const http::Request& r) {
    ++calls;
    if (calls == 1) return Reply(r, 400, R"({"__type":"ThrottlingException","message":"slow down"})");
    if (calls == 2) return Reply(r, 500, R"({"__type":"ServerException"})");
    return Reply(r, 200, "{}");
  });
  Client c(Fast(s.url()), Creds());
  auto out = c.CallJson(kEcs, "ListTasks", {});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(c.quota_left(), 500);  // the success refunded both retries
}

TEST(AwsClient, StopsAfterMaxAttemptsAndDoesNotRetryClientErrors) {
  int calls = 0;
  Server s([&](const http::Request& r) {
    ++calls;
    if (r.target() == "/2015-02-01/file-systems/fs-1") {
      return Reply(r, 409, R"({"ErrorCode":"FileSystemInUse","Message":"has mount targets"})",
                   {{"x-amzn-ErrorType", "FileSystemInUse:"}});
    }
    return Reply(r, 503, "");
  });
  Client c(Fast(s.url()), Creds());
  auto out = c.CallRest(kEfs, "GET", "/2015-02-01/file-systems", {{"FileSystemId", "fs-1"}}, nullptr);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(out.error().status, 503);
  calls = 0;
  auto del = c.CallRest(kEfs, "DELETE", "/2015-02-01/file-systems/fs-1", {}, nullptr);
  ASSERT_FALSE(del.ok());
  EXPECT_EQ(del.error().code, "FileSystemInUse");
  EXPECT_EQ(calls, 1);
}

TEST(AwsClient, RetryQuotaRunsOut) {
  Server s([&](const http::Request& r) { return Reply(r, 500, ""); });
  auto cfg = Fast(s.url());
  cfg.retry.quota = 12;  // two retries' worth
  Client c(cfg, Creds());
  auto a = c.CallQuery(kElbv2, "DescribeRules", {});
  ASSERT_FALSE(a.ok());
  auto b = c.CallQuery(kElbv2, "DescribeRules", {});
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("retry quota exhausted"), std::string::npos) << b.error().message;
  EXPECT_EQ(c.attempts(), 4);  // 3 + 1
}

TEST(AwsClient, QueryProtocolFormEncodesAndReturnsResult) {
  std::string body;
  Server s([&](const http::Request& r) {
    body = r.body();
    return Reply(r, 200,
                 "<CreateRuleResponse><CreateRuleResult><Rules><member><RuleArn>arn:r</RuleArn></member></Rules>"
                 "</CreateRuleResult></CreateRuleResponse>");
  });
  Client c(Fast(s.url()), Creds());
  auto out = c.CallQuery(kElbv2, "CreateRule", {{"Conditions.member.1.Values.member.1", "/p/a b/*"}});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->Text("Rules/member/RuleArn"), "arn:r");
  EXPECT_EQ(body, "Action=CreateRule&Version=2015-12-01&Conditions.member.1.Values.member.1=%2Fp%2Fa%20b%2F%2A");
}

TEST(AwsClient, UnreachableEndpointIsAnErrorAfterRetries) {
  auto cfg = Fast("http://127.0.0.1:1");
  Client c(cfg, Creds());
  auto out = c.CallJson(kEcs, "ListTasks", {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().code, "unreachable");
  EXPECT_EQ(c.attempts(), 3);
}

TEST(AwsEndpoints, DefaultsAndOverrides) {
  EXPECT_EQ(DefaultEndpoint(kEcs, "eu-west-1"), "https://ecs.eu-west-1.amazonaws.com");
  EXPECT_EQ(DefaultEndpoint(kEfs, "cn-north-1"), "https://elasticfilesystem.cn-north-1.amazonaws.com.cn");
  EXPECT_EQ(DefaultEndpoint(kElbv2, "us-east-2"), "https://elasticloadbalancing.us-east-2.amazonaws.com");
}

// ---- credentials -----------------------------------------------------------

EnvFn Env(std::map<std::string, std::string> m) {
  return [m](const std::string& k) -> std::optional<std::string> {
    auto it = m.find(k);
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

TEST(AwsCredentials, Environment) {
  auto c = CredentialsFromEnv(Env({{"AWS_ACCESS_KEY_ID", "AK"}, {"AWS_SECRET_ACCESS_KEY", "SK"}, {"AWS_SESSION_TOKEN", "T"}}));
  ASSERT_TRUE(c.ok() && *c);
  EXPECT_EQ((*c)->access_key_id, "AK");
  EXPECT_EQ((*c)->session_token, "T");
  EXPECT_FALSE(CredentialsFromEnv(Env({{"AWS_ACCESS_KEY_ID", "AK"}})).ok());
  EXPECT_FALSE(*CredentialsFromEnv(Env({})));
}

TEST(AwsCredentials, SharedFilesWithProfiles) {
  pg::testing::TempDir dir;
  std::ofstream(dir.path() + "/credentials") << "[default]\naws_access_key_id = AKDEF\naws_secret_access_key = SKDEF\n"
                                                "# comment\n[dev]\naws_access_key_id=AKDEV\naws_secret_access_key=SKDEV\n"
                                                "aws_session_token=TDEV\n";
  std::ofstream(dir.path() + "/config") << "[default]\nregion = eu-west-1\n[profile ops]\nregion=ap-south-1\n"
                                           "aws_access_key_id=AKOPS\naws_secret_access_key=SKOPS\n[sso-session x]\nregion=zz\n";
  std::map<std::string, std::string> base{{"AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/credentials"},
                                          {"AWS_CONFIG_FILE", dir.path() + "/config"}};
  auto def = CredentialsFromSharedFiles(Env(base));
  ASSERT_TRUE(def.ok() && *def);
  EXPECT_EQ((*def)->access_key_id, "AKDEF");
  EXPECT_EQ(ResolveRegion(Env(base)), "eu-west-1");
  auto dev = base;
  dev["AWS_PROFILE"] = "dev";
  auto d = CredentialsFromSharedFiles(Env(dev));
  ASSERT_TRUE(d.ok() && *d);
  EXPECT_EQ((*d)->session_token, "TDEV");
  auto ops = base;
  ops["AWS_PROFILE"] = "ops";
  auto o = CredentialsFromSharedFiles(Env(ops));
  ASSERT_TRUE(o.ok() && *o);
  EXPECT_EQ((*o)->access_key_id, "AKOPS");
  EXPECT_EQ(ResolveRegion(Env(ops)), "ap-south-1");
  auto none = base;
  none["AWS_PROFILE"] = "missing";
  EXPECT_FALSE(*CredentialsFromSharedFiles(Env(none)));
}

TEST(AwsCredentials, ContainerEndpointWithAuthorizationToken) {
  std::string auth;
  Server s([&](const http::Request& r) {
    auth = std::string(r[boost::beast::http::field::authorization]);
    if (r.target() != "/creds") return Reply(r, 404, "");
    return Reply(r, 200, R"({"AccessKeyId":"ASIA","SecretAccessKey":"S","Token":"T","Expiration":"2099-01-01T00:00:00Z"})");
  });
  auto c = CredentialsFromContainer(
      Env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", s.url() + "/creds"}, {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-token"}}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(*c);
  EXPECT_EQ((*c)->access_key_id, "ASIA");
  EXPECT_EQ(auth, "secret-token");
  EXPECT_GT((*c)->expiration, std::chrono::system_clock::now() + std::chrono::hours(24 * 365));
  auto bad = CredentialsFromContainer(Env({{"AWS_CONTAINER_CREDENTIALS_FULL_URI", s.url() + "/nope"}}));
  EXPECT_FALSE(bad.ok());
}

TEST(AwsCredentials, ImdsV2AsksForATokenFirst) {
  std::vector<std::string> seen;
  Server s([&](const http::Request& r) {
    std::string t(r.target());
    seen.push_back(std::string(r.method_string()) + " " + t);
    if (t == "/latest/api/token") {
      if (r.method() != boost::beast::http::verb::put || r["X-aws-ec2-metadata-token-ttl-seconds"].empty())
        return Reply(r, 400, "");
      return Reply(r, 200, "imds-token");
    }
    if (r["X-aws-ec2-metadata-token"] != "imds-token") return Reply(r, 401, "");
    if (t == "/latest/meta-data/iam/security-credentials/") return Reply(r, 200, "hub-role");
    if (t == "/latest/meta-data/iam/security-credentials/hub-role")
      return Reply(r, 200, R"({"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"S","Token":"T","Expiration":"2099-01-01T00:00:00Z"})");
    return Reply(r, 404, "");
  });
  auto c = CredentialsFromImds(Env({{"AWS_EC2_METADATA_SERVICE_ENDPOINT", s.url()}}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(*c);
  EXPECT_EQ((*c)->access_key_id, "ASIAIMDS");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], "PUT /latest/api/token");
  EXPECT_FALSE(*CredentialsFromImds(Env({{"AWS_EC2_METADATA_DISABLED", "true"}})));
}

TEST(AwsCredentials, ChainOrderAndCaching) {
  int calls = 0;
  Server s([&](const http::Request& r) {
    ++calls;
    return Reply(r, 200, R"({"AccessKeyId":"ASIAC","SecretAccessKey":"S","Token":"T","Expiration":"2099-01-01T00:00:00Z"})");
  });
  std::map<std::string, std::string> env{{"AWS_CONTAINER_CREDENTIALS_FULL_URI", s.url() + "/c"},
                                         {"HOME", "/nonexistent"},
                                         {"AWS_EC2_METADATA_DISABLED", "true"}};
  auto chain = DefaultCredentialsChain(Env(env));
  ASSERT_EQ(chain->Get()->access_key_id, "ASIAC");
  ASSERT_EQ(chain->Get()->access_key_id, "ASIAC");
  EXPECT_EQ(calls, 1);  // cached until 5 minutes before expiry
  env["AWS_ACCESS_KEY_ID"] = "AKENV";
  env["AWS_SECRET_ACCESS_KEY"] = "SK";
  EXPECT_EQ(DefaultCredentialsChain(Env(env))->Get()->access_key_id, "AKENV");  // environment first
  auto empty = DefaultCredentialsChain(Env({{"HOME", "/nonexistent"}, {"AWS_EC2_METADATA_DISABLED", "true"}}))->Get();
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, "no_credentials");
}

}  // namespace
}  // namespace pg::aws
