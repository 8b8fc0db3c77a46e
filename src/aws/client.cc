#include "aws/client.h"

#include <thread>

#include "common/http_client.h"
#include "common/json.h"

namespace pg::aws {

const Service kEcs{"ecs", "ecs", "ecs", "AmazonEC2ContainerServiceV20141113", "2014-11-13", Protocol::kJson};
const Service kEfs{"efs", "elasticfilesystem", "elasticfilesystem", "", "2015-02-01", Protocol::kRestJson};
const Service kElbv2{"elbv2", "elasticloadbalancing", "elasticloadbalancing", "", "2015-12-01", Protocol::kQuery};

namespace {

// "com.amazonaws.ecs#ClientException" → "ClientException";
// "FileSystemInUse:http://internal.amazon.com/..." → "FileSystemInUse".
std::string CleanCode(std::string code) {
  if (size_t c = code.find(':'); c != std::string::npos) code.resize(c);
  if (size_t h = code.rfind('#'); h != std::string::npos) code = code.substr(h + 1);
  return code;
}

std::string StrMember(const boost::json::object& o, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = o.find(k);
    if (it != o.end() && it->value().is_string()) return std::string(it->value().as_string());
  }
  return "";
}

}  // namespace

std::string DefaultEndpoint(const Service& svc, const std::string& region) {
  std::string suffix = region.rfind("cn-", 0) == 0 ? ".amazonaws.com.cn" : ".amazonaws.com";
  return "https://" + svc.endpoint_prefix + "." + region + suffix;
}

bool IsThrottle(const std::string& code, int status) {
  static const char* kCodes[] = {"Throttling", "ThrottlingException", "ThrottledException",
                                 "RequestThrottledException", "TooManyRequestsException",
                                 "ProvisionedThroughputExceededException", "TransactionInProgressException",
                                 "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException",
                                 "RequestThrottled", "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException"};
  if (status == 429) return true;
  for (const char* c : kCodes)
    if (code == c) return true;
  return false;
}

bool IsRetryable(const Error& e) {
  if (e.code == "unreachable" || e.code == "timeout") return true;
  if (IsThrottle(e.code, e.status)) return true;
  if (e.code == "RequestTimeout" || e.code == "RequestTimeoutException" || e.code == "InternalServerError" ||
      e.code == "ServerException" || e.code == "InternalFailure" || e.code == "ServiceUnavailable")
    return true;
  return e.status == 500 || e.status == 502 || e.status == 503 || e.status == 504;
}

Error ParseAwsError(Protocol protocol, int status, const std::string& body, const std::string& error_type_header) {
  std::string code, message;
  if (protocol == Protocol::kQuery) {
    auto doc = ParseXml(body);
    if (doc.ok()) {
      const XmlNode* err = doc->name == "Error" ? &*doc : doc->Find("Error");
      if (!err && doc->Child("Errors")) err = doc->Find("Errors/Error");
      if (err) {
        code = err->Text("Code");
        message = err->Text("Message");
      }
    }
  } else {
    auto obj = ParseJsonObject(body, false);
    if (obj.ok()) {
      code = StrMember(*obj, {"__type", "code", "Code", "ErrorCode"});
      message = StrMember(*obj, {"message", "Message", "errorMessage"});
    }
    if (!error_type_header.empty()) code = error_type_header;
  }
  code = CleanCode(code);
  if (code.empty()) code = status >= 500 ? "ServiceUnavailable" : "UnknownError";
  if (message.empty()) message = "HTTP " + std::to_string(status);
  return Error::Make(code, code + ": " + message, status);
}

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out.push_back('&');
    out += UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  return out;
}

Client::Client(ClientConfig config, std::shared_ptr<CredentialsProvider> creds)
    : config_(std::move(config)), creds_(std::move(creds)), quota_(config_.retry.quota), rng_(std::random_device{}()) {}

std::string Client::BaseUrl(const Service& svc) const {
  std::string base;
  if (auto it = config_.endpoints.find(svc.id); it != config_.endpoints.end()) {
    base = it->second;
  } else if (!config_.endpoint.empty()) {
    base = config_.endpoint;
  } else {
    base = DefaultEndpoint(svc, config_.region);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

Result<Client::Raw> Client::Send(const Service& svc, const std::string& method, const std::string& path,
                                 const std::string& query, std::vector<std::pair<std::string, std::string>> headers,
                                 const std::string& body) {
  std::string base = BaseUrl(svc);
  std::string url = base + path + (query.empty() ? "" : "?" + query);
  PG_ASSIGN_OR_RETURN(http::Url parsed, http::Url::Parse(url));
  // A base URL with a path prefix (e.g. a proxy) is signed as sent.
  std::string full_path = parsed.target.substr(0, parsed.target.find('?'));

  const auto& rc = config_.retry;
  int retry_cost = 0;
  for (int attempt = 1;; ++attempt) {
    PG_ASSIGN_OR_RETURN(Credentials creds, creds_->Get());
    SignableRequest sreq{method, full_path, query, headers, body};
    sreq.headers.emplace_back("Host", parsed.host_header);
    SignOptions opts{config_.region, svc.signing_name, std::chrono::system_clock::now()};
    opts.normalize_path = true;
    SignRequest(sreq, creds, opts);

    http::ClientRequest req;
    req.method = boost::beast::http::string_to_verb(method);
    req.url = url;
    req.timeout = config_.timeout;
    req.body = body;
    for (auto& h : sreq.headers) {
      if (h.first != "Host") req.headers.push_back(h);
    }
    ++attempts_;
    auto res = http::Fetch(req);
    Error err;
    if (res.ok()) {
      if (res->status >= 200 && res->status < 300) {
        // Success refunds what the retries took, or one token.
        int refund = retry_cost > 0 ? retry_cost : 1;
        int q = quota_.load();
        while (!quota_.compare_exchange_weak(q, std::min(rc.quota, q + refund))) {
        }
        return Raw{res->status, std::move(res->body), std::move(res->headers)};
      }
      err = ParseAwsError(svc.protocol, res->status, res->body, res->Header("x-amzn-ErrorType"));
    } else {
      err = res.error();
    }
    if (!IsRetryable(err) || attempt >= rc.max_attempts) return err;
    int cost = err.code == "timeout" ? 10 : 5;
    int q = quota_.load();
    do {
      if (q < cost) {
        err.message += " (retry quota exhausted)";
        return err;
      }
    } while (!quota_.compare_exchange_weak(q, q - cost));
    retry_cost += cost;
    double r;
    {
      std::lock_guard lock(rng_mu_);
      r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    }
    auto cap = std::min<int64_t>(rc.max_backoff.count(), rc.base_delay.count() * (int64_t{1} << std::min(attempt, 20)));
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(r * cap * 1000)));
  }
}

Result<boost::json::object> Client::CallJson(const Service& svc, const std::string& operation,
                                             const boost::json::object& input) {
  std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", svc.target_prefix + "." + operation}};
  PG_ASSIGN_OR_RETURN(Raw raw, Send(svc, "POST", "/", "", headers, boost::json::serialize(input)));
  auto obj = ParseJsonObject(raw.body, true);
  if (!obj.ok()) return Error::Make("malformed_response", operation + ": response is not a JSON object", 502);
  return std::move(obj).value();
}

Result<boost::json::object> Client::CallRest(const Service& svc, const std::string& method, const std::string& path,
                                             const std::vector<std::pair<std::string, std::string>>& query,
                                             const boost::json::object* body) {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload;
  if (body) {
    headers.emplace_back("Content-Type", "application/json");
    payload = boost::json::serialize(*body);
  }
  PG_ASSIGN_OR_RETURN(Raw raw, Send(svc, method, path, FormEncode(query), headers, payload));
  auto obj = ParseJsonObject(raw.body, true);
  if (!obj.ok()) return Error::Make("malformed_response", method + " " + path + ": response is not a JSON object", 502);
  return std::move(obj).value();
}

Result<XmlNode> Client::CallQuery(const Service& svc, const std::string& action,
                                  const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<std::pair<std::string, std::string>> all{{"Action", action}, {"Version", svc.api_version}};
  all.insert(all.end(), params.begin(), params.end());
  std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  PG_ASSIGN_OR_RETURN(Raw raw, Send(svc, "POST", "/", "", headers, FormEncode(all)));
  PG_ASSIGN_OR_RETURN(XmlNode doc, ParseXml(raw.body));
  const XmlNode* result = doc.Child(action + "Result");
  if (!result) return XmlNode{action + "Result", "", {}};
  return *result;
}

}  // namespace pg::aws
