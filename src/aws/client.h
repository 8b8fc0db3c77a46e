// A signed, retrying AWS API client for the three protocols the ecs
// orchestrator needs: JSON 1.1 (ECS), REST-JSON (EFS) and Query with XML
// responses (ELBv2).
//
// Errors: an AWS error becomes pg::Error{code = AWS error code (e.g.
// "FileSystemInUse", "PriorityInUse", "ClientException"), message, status =
// the HTTP status}. Transport failures keep code "unreachable"/"timeout".
//
// Retries follow the SDKs' "standard" mode: throttling errors, 5xx and
// transport failures are retried up to max_attempts with exponential backoff
// and full jitter (delay = rand[0,1) * min(max_backoff, base * 2^attempt)),
// drawing on a retry quota (500 tokens; 5 per retry, 10 per retried timeout;
// a success refunds what its retries cost, or 1). Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "aws/credentials.h"
#include "aws/xml.h"
#include "common/result.h"

namespace pg::aws {

enum class Protocol { kJson, kRestJson, kQuery };

struct Service {
  std::string id;              // "ecs", "efs", "elbv2": key for endpoint overrides
  std::string endpoint_prefix; // "ecs", "elasticfilesystem", "elasticloadbalancing"
  std::string signing_name;
  std::string target_prefix;   // JSON 1.1 only
  std::string api_version;
  Protocol protocol;
};
extern const Service kEcs;
extern const Service kEfs;
extern const Service kElbv2;

struct RetryConfig {
  int max_attempts = 3;                              // standard mode default
  std::chrono::milliseconds base_delay{1000};
  std::chrono::milliseconds max_backoff{20000};
  int quota = 500;
};

struct ClientConfig {
  std::string region;
  // Base URL per service id ("ecs" → "http://127.0.0.1:9000"); services
  // without one use `endpoint` when set, else https://PREFIX.REGION.amazonaws.com.
  std::map<std::string, std::string> endpoints;
  std::string endpoint;
  RetryConfig retry;
  std::chrono::milliseconds timeout{30000};  // per attempt
};

// The default endpoint of `svc` in `region` (".amazonaws.com.cn" in China).
std::string DefaultEndpoint(const Service& svc, const std::string& region);

// True for AWS error codes and statuses the standard mode retries.
bool IsThrottle(const std::string& code, int status);
bool IsRetryable(const Error& e);

class Client {
 public:
  Client(ClientConfig config, std::shared_ptr<CredentialsProvider> creds);

  // ECS-style JSON 1.1: POST / with X-Amz-Target PREFIX.Operation.
  Result<boost::json::object> CallJson(const Service& svc, const std::string& operation, const boost::json::object& input);

  // REST-JSON: `path` already carries URI members; `query` is encoded here.
  // Returns the response object ({} for empty bodies).
  Result<boost::json::object> CallRest(const Service& svc, const std::string& method, const std::string& path,
                                       const std::vector<std::pair<std::string, std::string>>& query,
                                       const boost::json::object* body);

  // Query protocol: Action, Version and flattened `params` form-encoded;
  // returns the <OperationResult> element of the XML response.
  Result<XmlNode> CallQuery(const Service& svc, const std::string& action,
                            const std::vector<std::pair<std::string, std::string>>& params);

  const ClientConfig& config() const { return config_; }
  int quota_left() const { return quota_.load(); }
  // Attempts made so far (all operations), for tests and metrics.
  int64_t attempts() const { return attempts_.load(); }

 private:
  struct Raw {
    int status = 0;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
  };
  Result<Raw> Send(const Service& svc, const std::string& method, const std::string& path, const std::string& query,
                   std::vector<std::pair<std::string, std::string>> headers, const std::string& body);
  std::string BaseUrl(const Service& svc) const;

  ClientConfig config_;
  std::shared_ptr<CredentialsProvider> creds_;
  std::atomic<int> quota_;
  std::atomic<int64_t> attempts_{0};
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

// Parses an error response of `protocol` into an Error (exposed for tests).
Error ParseAwsError(Protocol protocol, int status, const std::string& body, const std::string& error_type_header);

// Form-encodes (RFC 3986, "%20" for space) key=value pairs joined by '&'.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace pg::aws
