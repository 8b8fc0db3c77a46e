// Checks requests against AWS's service models ($PG_SHARED_DIR/aws/models,
// the *.normal.json files that carry enums, lengths, ranges and patterns):
// the operation exists, required members are present, no member is
// unknown, and types, enums, lengths, ranges and patterns hold.
#pragma once

#include <boost/json.hpp>

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace pg::aws::testing {

class ModelValidator {
 public:
  // Loads one model file. Throws on a missing or malformed file (test setup).
  explicit ModelValidator(const std::string& path);

  const std::string& protocol() const { return protocol_; }
  const std::string& target_prefix() const { return target_prefix_; }
  const std::string& api_version() const { return api_version_; }
  const std::string& signing_name() const { return signing_name_; }
  bool HasOperation(const std::string& op) const { return ops_.contains(op); }

  // Validates a JSON input document (JSON protocol: the body; REST-JSON: the
  // body merged with URI and query members) against `op`'s input shape.
  Result<void> ValidateJson(const std::string& op, const boost::json::value& input) const;

  // Query protocol: `params` without Action and Version, flattened as
  // "A.member.1.B". Rebuilds the document along the shapes and validates it.
  Result<boost::json::value> ValidateQuery(const std::string& op,
                                           const std::vector<std::pair<std::string, std::string>>& params) const;

  // REST-JSON: finds the operation of `method` + `path` (without query),
  // returning its name and URI members ("{AccessPointId}" → value).
  Result<std::pair<std::string, std::map<std::string, std::string>>> MatchRest(const std::string& method,
                                                                              const std::string& path) const;

  // The input shape's members that live in the query string: member name →
  // query key, and whether they are integers.
  struct QueryMember {
    std::string member;
    std::string shape_type;
  };
  std::map<std::string, QueryMember> QueryMembers(const std::string& op) const;
  // The operation's success status code (REST-JSON responseCode, else 200).
  int ResponseCode(const std::string& op) const;

 private:
  Result<void> Check(const std::string& shape, const boost::json::value& v, const std::string& path,
                     bool top_level_rest) const;
  Result<boost::json::value> Build(const std::string& shape,
                                   const std::vector<std::pair<std::string, std::string>>& kv,
                                   const std::string& path) const;
  const boost::json::object& Shape(const std::string& name) const;

  boost::json::object model_;
  std::map<std::string, const boost::json::object*> ops_;
  std::string protocol_, target_prefix_, api_version_, signing_name_;
  mutable std::map<std::string, std::shared_ptr<std::regex>> regex_cache_;
};

}  // namespace pg::aws::testing
