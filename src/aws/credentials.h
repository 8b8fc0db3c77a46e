// Where AWS credentials come from: the standard provider chain.
//
//   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
//   2. shared files: AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and
//      AWS_CONFIG_FILE (~/.aws/config), profile AWS_PROFILE or "default"
//      ("[profile name]" sections in the config file)
//   3. the ECS container credentials endpoint:
//      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or
//      AWS_CONTAINER_CREDENTIALS_FULL_URI with AWS_CONTAINER_AUTHORIZATION_TOKEN
//      or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
//   4. EC2 instance metadata, IMDSv2 (session token first), at
//      AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254;
//      AWS_EC2_METADATA_DISABLED=true skips it
//
// Temporary credentials are cached and refreshed 5 minutes before they
// expire. Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "aws/sigv4.h"
#include "common/result.h"

namespace pg::aws {

// Environment lookup, injectable for tests. Returns nullopt when unset.
using EnvFn = std::function<std::optional<std::string>(const std::string&)>;
EnvFn ProcessEnv();

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // Credentials valid for at least a few more minutes, or an error with
  // code "no_credentials".
  virtual Result<Credentials> Get() = 0;
};

// Fixed credentials.
std::shared_ptr<CredentialsProvider> StaticCredentials(Credentials c);

// The chain above, reading the environment through `env`.
std::shared_ptr<CredentialsProvider> DefaultCredentialsChain(EnvFn env = ProcessEnv());

// One step of the chain each, for tests and for callers that want only one.
// They return nullopt (not an error) when their source is not configured.
Result<std::optional<Credentials>> CredentialsFromEnv(const EnvFn& env);
Result<std::optional<Credentials>> CredentialsFromSharedFiles(const EnvFn& env);
Result<std::optional<Credentials>> CredentialsFromContainer(const EnvFn& env);
Result<std::optional<Credentials>> CredentialsFromImds(const EnvFn& env);

// The region: AWS_REGION, AWS_DEFAULT_REGION, then `region` of the profile
// in the config file. Empty when none is set.
std::string ResolveRegion(const EnvFn& env);

// Parses an INI file into section → key → value ("[profile x]" → "x").
std::map<std::string, std::map<std::string, std::string>> ParseIni(const std::string& text, bool config_file);

}  // namespace pg::aws
