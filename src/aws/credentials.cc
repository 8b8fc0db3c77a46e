#include "aws/credentials.h"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include "common/http_client.h"
#include "common/json.h"

namespace pg::aws {
namespace {

using SysClock = std::chrono::system_clock;

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Home(const EnvFn& env) {
  auto h = env("HOME");
  return h ? *h : "";
}

std::string Profile(const EnvFn& env) {
  auto p = env("AWS_PROFILE");
  return p && !p->empty() ? *p : "default";
}

// "2026-11-28T18:00:00Z" (fractional seconds and offsets of +00:00 accepted).
std::optional<SysClock::time_point> ParseIso8601(const std::string& s) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  return SysClock::from_time_t(timegm(&tm));
}

// Parses the JSON document of the container endpoint and IMDS.
Result<Credentials> ParseCredentialsJson(const std::string& body, const std::string& source) {
  auto v = ParseJsonObject(body, false);
  if (!v.ok()) return Error::Make("no_credentials", source + ": malformed credentials document");
  auto str = [&](const char* k) -> std::string {
    auto it = v->find(k);
    return it != v->end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
  };
  if (auto code = str("Code"); !code.empty() && code != "Success")
    return Error::Make("no_credentials", source + ": credentials not available: " + code);
  Credentials c{str("AccessKeyId"), str("SecretAccessKey"), str("Token")};
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return Error::Make("no_credentials", source + ": document lacks AccessKeyId or SecretAccessKey");
  if (auto exp = str("Expiration"); !exp.empty()) {
    auto t = ParseIso8601(exp);
    if (!t) return Error::Make("no_credentials", source + ": bad Expiration " + exp);
    c.expiration = *t;
  }
  return c;
}

Result<http::ClientResponse> Get(const std::string& url, std::vector<std::pair<std::string, std::string>> headers,
                                 boost::beast::http::verb verb = boost::beast::http::verb::get) {
  http::ClientRequest req;
  req.method = verb;
  req.url = url;
  req.headers = std::move(headers);
  req.timeout = std::chrono::milliseconds(2000);
  return http::Fetch(req);
}

class StaticProvider : public CredentialsProvider {
 public:
  explicit StaticProvider(Credentials c) : c_(std::move(c)) {}
  Result<Credentials> Get() override { return c_; }

 private:
  Credentials c_;
};

class ChainProvider : public CredentialsProvider {
 public:
  explicit ChainProvider(EnvFn env) : env_(std::move(env)) {}
  Result<Credentials> Get() override {
    std::lock_guard lock(mu_);
    if (cached_ && cached_->expiration - SysClock::now() > std::chrono::minutes(5)) return *cached_;
    using Step = Result<std::optional<Credentials>> (*)(const EnvFn&);
    const Step steps[] = {CredentialsFromEnv, CredentialsFromSharedFiles, CredentialsFromContainer,
                          CredentialsFromImds};
    std::string why;
    for (Step s : steps) {
      auto r = s(env_);
      if (!r.ok()) {
        // A configured source that fails: keep a still-valid cached value.
        if (cached_ && cached_->expiration > SysClock::now()) return *cached_;
        return r.error();
      }
      if (*r) {
        cached_ = **r;
        return *cached_;
      }
    }
    return Error::Make("no_credentials",
                       "no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile in "
                       "~/.aws/credentials, or run with a task or instance role");
  }

 private:
  EnvFn env_;
  std::mutex mu_;
  std::optional<Credentials> cached_;
};

}  // namespace

EnvFn ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

std::shared_ptr<CredentialsProvider> StaticCredentials(Credentials c) {
  return std::make_shared<StaticProvider>(std::move(c));
}

std::shared_ptr<CredentialsProvider> DefaultCredentialsChain(EnvFn env) {
  return std::make_shared<ChainProvider>(std::move(env));
}

std::map<std::string, std::map<std::string, std::string>> ParseIni(const std::string& text, bool config_file) {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line, section;
  bool valid = false;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(line.substr(1, line.size() - 2));
      valid = true;
      if (config_file && section != "default") {
        if (section.rfind("profile ", 0) == 0) {
          section = Trim(section.substr(8));
        } else {
          valid = false;  // e.g. [sso-session x], [services x]
        }
      }
      continue;
    }
    size_t eq = line.find('=');
    if (!valid || eq == std::string::npos) continue;
    out[section][Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
  }
  return out;
}

Result<std::optional<Credentials>> CredentialsFromEnv(const EnvFn& env) {
  auto id = env("AWS_ACCESS_KEY_ID");
  auto secret = env("AWS_SECRET_ACCESS_KEY");
  if (!id || id->empty()) return std::optional<Credentials>();
  if (!secret || secret->empty())
    return Error::Make("no_credentials", "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
  Credentials c{*id, *secret, env("AWS_SESSION_TOKEN").value_or("")};
  return std::optional<Credentials>(c);
}

Result<std::optional<Credentials>> CredentialsFromSharedFiles(const EnvFn& env) {
  std::string home = Home(env);
  std::string cred_path = env("AWS_SHARED_CREDENTIALS_FILE").value_or(home + "/.aws/credentials");
  std::string conf_path = env("AWS_CONFIG_FILE").value_or(home + "/.aws/config");
  std::string profile = Profile(env);
  for (auto [path, config] : {std::pair{cred_path, false}, std::pair{conf_path, true}}) {
    auto text = ReadFile(path);
    if (!text) continue;
    auto ini = ParseIni(*text, config);
    auto it = ini.find(profile);
    if (it == ini.end()) continue;
    auto& kv = it->second;
    if (!kv.contains("aws_access_key_id")) continue;
    if (!kv.contains("aws_secret_access_key"))
      return Error::Make("no_credentials", path + ": profile " + profile + " lacks aws_secret_access_key");
    Credentials c{kv["aws_access_key_id"], kv["aws_secret_access_key"],
                  kv.contains("aws_session_token") ? kv["aws_session_token"] : ""};
    return std::optional<Credentials>(c);
  }
  return std::optional<Credentials>();
}

Result<std::optional<Credentials>> CredentialsFromContainer(const EnvFn& env) {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  if (auto rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel && !rel->empty()) {
    url = "http://169.254.170.2" + *rel;
  } else if (auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI"); full && !full->empty()) {
    url = *full;
    std::string token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN").value_or("");
    if (auto file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file && !file->empty()) {
      auto t = ReadFile(*file);
      if (!t) return Error::Make("no_credentials", "cannot read " + *file);
      token = Trim(*t);
    }
    if (!token.empty()) headers.emplace_back("Authorization", token);
  } else {
    return std::optional<Credentials>();
  }
  auto res = Get(url, headers);
  if (!res.ok()) return Error::Make("no_credentials", "container credentials endpoint: " + res.error().message);
  if (res->status != 200)
    return Error::Make("no_credentials", "container credentials endpoint answered " + std::to_string(res->status));
  PG_ASSIGN_OR_RETURN(Credentials c, ParseCredentialsJson(res->body, "container credentials endpoint"));
  return std::optional<Credentials>(c);
}

Result<std::optional<Credentials>> CredentialsFromImds(const EnvFn& env) {
  if (auto d = env("AWS_EC2_METADATA_DISABLED"); d && (*d == "true" || *d == "TRUE" || *d == "1"))
    return std::optional<Credentials>();
  std::string base = env("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto tok = Get(base + "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}},
                 boost::beast::http::verb::put);
  if (!tok.ok()) return std::optional<Credentials>();  // not on EC2
  if (tok->status != 200)
    return Error::Make("no_credentials", "IMDSv2 token request answered " + std::to_string(tok->status));
  std::vector<std::pair<std::string, std::string>> h{{"X-aws-ec2-metadata-token", tok->body}};
  auto role = Get(base + "/latest/meta-data/iam/security-credentials/", h);
  if (!role.ok() || role->status == 404) return std::optional<Credentials>();  // no instance role
  if (role->status != 200)
    return Error::Make("no_credentials", "IMDS role lookup answered " + std::to_string(role->status));
  std::string name = Trim(role->body.substr(0, role->body.find('\n')));
  if (name.empty() || name.find('/') != std::string::npos)
    return Error::Make("no_credentials", "IMDS returned a bad role name");
  auto cred = Get(base + "/latest/meta-data/iam/security-credentials/" + name, h);
  if (!cred.ok() || cred->status != 200)
    return Error::Make("no_credentials", "IMDS credentials for role " + name + " unavailable");
  PG_ASSIGN_OR_RETURN(Credentials c, ParseCredentialsJson(cred->body, "IMDS"));
  return std::optional<Credentials>(c);
}

std::string ResolveRegion(const EnvFn& env) {
  for (const char* k : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto v = env(k); v && !v->empty()) return *v;
  }
  std::string conf = env("AWS_CONFIG_FILE").value_or(Home(env) + "/.aws/config");
  if (auto text = ReadFile(conf)) {
    auto ini = ParseIni(*text, true);
    auto it = ini.find(Profile(env));
    if (it != ini.end() && it->second.contains("region")) return it->second["region"];
  }
  return "";
}

}  // namespace pg::aws
