// The model validator must catch each kind of bad request, or the contract
// test's "no violations" would prove nothing.
#include "model_validator.h"

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace pg::aws::testing {
namespace {

namespace js = boost::json;

std::string Model(const char* name) { return pg::testing::SharedDir() + "/aws/models/" + name; }

TEST(ModelValidator, EcsJson) {
  ModelValidator m(Model("ecs-2014-11-13.normal.json"));
  EXPECT_EQ(m.protocol(), "json");
  EXPECT_EQ(m.target_prefix(), "AmazonEC2ContainerServiceV20141113");
  EXPECT_TRUE(m.ValidateJson("StopTask", js::parse(R"({"cluster":"c","task":"t","reason":"r"})")).ok());
  EXPECT_FALSE(m.ValidateJson("StopTask", js::parse(R"({"cluster":"c"})")).ok());                 // required
  EXPECT_FALSE(m.ValidateJson("StopTask", js::parse(R"({"task":"t","bogus":1})")).ok());          // unknown
  EXPECT_FALSE(m.ValidateJson("StopTask", js::parse(R"({"task":5})")).ok());                      // type
  EXPECT_FALSE(m.ValidateJson("ListTasks", js::parse(R"({"desiredStatus":"SLEEPING"})")).ok());   // enum
  EXPECT_TRUE(m.ValidateJson("ListTasks", js::parse(R"({"desiredStatus":"STOPPED"})")).ok());
  EXPECT_FALSE(m.ValidateJson("RunTask", js::parse(R"({"taskDefinition":"x","tags":[{"key":"","value":"v"}]})")).ok());  // min length
  EXPECT_FALSE(m.ValidateJson("RunTask", js::parse(R"({"taskDefinition":"x","tags":[{"key":"a#b","value":"v"}]})")).ok());  // pattern
  EXPECT_FALSE(m.ValidateJson("RunTask", js::parse(R"({"taskDefinition":"x","count":"1"})")).ok());
  EXPECT_FALSE(m.ValidateJson("NoSuchOperation", js::parse("{}")).ok());
}

TEST(ModelValidator, EfsRestJson) {
  ModelValidator m(Model("elasticfilesystem-2015-02-01.normal.json"));
  auto match = m.MatchRest("DELETE", "/2015-02-01/access-points/fsap-0123456789abcdef0");
  ASSERT_TRUE(match.ok());
  EXPECT_EQ(match->first, "DeleteAccessPoint");
  EXPECT_EQ(match->second.at("AccessPointId"), "fsap-0123456789abcdef0");
  EXPECT_FALSE(m.MatchRest("PATCH", "/2015-02-01/access-points").ok());
  EXPECT_EQ(m.ResponseCode("CreateFileSystem"), 201);
  auto good = js::parse(R"({"ClientToken":"t","FileSystemId":"fs-0123456789abcdef0",
      "PosixUser":{"Uid":1000,"Gid":1000},"RootDirectory":{"Path":"/playgrounds/x",
      "CreationInfo":{"OwnerUid":1000,"OwnerGid":1000,"Permissions":"0700"}}})");
  EXPECT_TRUE(m.ValidateJson("CreateAccessPoint", good).ok());
  auto bad_perm = good;
  bad_perm.as_object()["RootDirectory"].as_object()["CreationInfo"].as_object()["Permissions"] = "0799";
  EXPECT_FALSE(m.ValidateJson("CreateAccessPoint", bad_perm).ok());
  auto bad_fs = good;
  bad_fs.as_object()["FileSystemId"] = "fs-XYZ";
  EXPECT_FALSE(m.ValidateJson("CreateAccessPoint", bad_fs).ok());
  auto bad_uid = good;
  bad_uid.as_object()["PosixUser"].as_object()["Uid"] = -1;
  EXPECT_FALSE(m.ValidateJson("CreateAccessPoint", bad_uid).ok());  // range
  auto long_token = good;
  long_token.as_object()["ClientToken"] = std::string(65, 'x');
  EXPECT_FALSE(m.ValidateJson("CreateAccessPoint", long_token).ok());  // max length
  EXPECT_FALSE(m.ValidateJson("CreateFileSystem", js::parse(R"({"CreationToken":"t","ThroughputMode":"fast"})")).ok());
  EXPECT_TRUE(m.QueryMembers("DescribeFileSystems").contains("CreationToken"));
}

TEST(ModelValidator, Elbv2Query) {
  ModelValidator m(Model("elasticloadbalancingv2-2015-12-01.normal.json"));
  EXPECT_EQ(m.api_version(), "2015-12-01");
  auto ok = m.ValidateQuery("CreateRule", {{"ListenerArn", "arn:l"},
                                           {"Priority", "7"},
                                           {"Conditions.member.1.Field", "path-pattern"},
                                           {"Conditions.member.1.PathPatternConfig.Values.member.1", "/p/x/*"},
                                           {"Actions.member.1.Type", "forward"},
                                           {"Actions.member.1.TargetGroupArn", "arn:tg"}});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->at("Priority").as_int64(), 7);
  EXPECT_EQ(ok->at("Conditions").as_array()[0].at("PathPatternConfig").at("Values").as_array()[0].as_string(), "/p/x/*");
  // Missing required, out of range, unknown member, bad enum, bad index, not an integer.
  EXPECT_FALSE(m.ValidateQuery("CreateRule", {{"ListenerArn", "a"}, {"Priority", "7"}}).ok());
  EXPECT_FALSE(m.ValidateQuery("DeleteRule", {{"RuleArn", "a"}, {"Force", "true"}}).ok());
  EXPECT_FALSE(m.ValidateQuery("CreateTargetGroup", {{"Name", "n"}, {"TargetType", "container"}}).ok());
  EXPECT_FALSE(m.ValidateQuery("CreateTargetGroup", {{"Name", "n"}, {"Port", "70000"}}).ok());
  EXPECT_FALSE(m.ValidateQuery("CreateTargetGroup", {{"Name", "n"}, {"Port", "80x"}}).ok());
  EXPECT_FALSE(m.ValidateQuery("RegisterTargets", {{"TargetGroupArn", "a"}, {"Targets.member.2.Id", "1.2.3.4"}}).ok());
  EXPECT_FALSE(m.ValidateQuery("RegisterTargets", {{"TargetGroupArn", "a"}, {"Targets.item.1.Id", "1.2.3.4"}}).ok());
  EXPECT_TRUE(m.ValidateQuery("RegisterTargets", {{"TargetGroupArn", "a"}, {"Targets.member.1.Id", "1.2.3.4"},
                                                  {"Targets.member.1.Port", "3000"}}).ok());
}

}  // namespace
}  // namespace pg::aws::testing
