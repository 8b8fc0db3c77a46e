// AWS client hot paths: SigV4 signing of a RunTask-sized ECS request and of
// an ELBv2 Query request, and parsing a 100-rule DescribeRules XML answer.
// bench/aws.sh runs this beside botocore's SigV4Auth (the AWS SDK for
// Python) on the same requests.
#include <benchmark/benchmark.h>

#include <string>

#include "aws/sigv4.h"
#include "aws/xml.h"

namespace {

const pg::aws::Credentials kCreds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example"};

std::string RunTaskBody() {
  std::string b = R"({"cluster":"playground","taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/pg-abcdefghijklmnopqrstuvwxyz:1","launchType":"FARGATE","count":1,"clientToken":"pg-abcdefghijklmnopqrstuvwxyz-0123456789abcdef","startedBy":"playground","networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-0a1b2c3d","subnet-1a2b3c4d"],"securityGroups":["sg-0a1b2c3d4e5f6071"],"assignPublicIp":"DISABLED"}},"tags":[{"key":"playground-id","value":"abcdefghijklmnopqrstuvwxyz"}]})";
  return b;
}

void BM_SignEcsRunTask(benchmark::State& state) {
  std::string body = RunTaskBody();
  pg::aws::SignOptions o{"us-east-1", "ecs", std::chrono::system_clock::from_time_t(1440938160)};
  for (auto _ : state) {
    pg::aws::SignableRequest r{"POST", "/", "", {{"Host", "ecs.us-east-1.amazonaws.com"},
                                                 {"Content-Type", "application/x-amz-json-1.1"},
                                                 {"X-Amz-Target", "AmazonEC2ContainerServiceV20141113.RunTask"}},
                               body};
    auto s = pg::aws::SignRequest(r, kCreds, o);
    benchmark::DoNotOptimize(s.signature);
  }
}
BENCHMARK(BM_SignEcsRunTask);

void BM_SignElbCreateRule(benchmark::State& state) {
  std::string body =
      "Action=CreateRule&Version=2015-12-01&ListenerArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A123456789012%3A"
      "listener%2Fapp%2Fplayground%2F0123456789abcdef%2F0123456789abcdef&Priority=17&Conditions.member.1.Field=path-"
      "pattern&Conditions.member.1.PathPatternConfig.Values.member.1=%2Fp%2Fabcdefghijklmnopqrstuvwxyz%2F%2A&Actions."
      "member.1.Type=forward&Actions.member.1.TargetGroupArn=arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A123456789012"
      "%3Atargetgroup%2Fpg-abcdefghijklmnopqrstuvwxyz%2F0123456789abcdef";
  pg::aws::SignOptions o{"us-east-1", "elasticloadbalancing", std::chrono::system_clock::from_time_t(1440938160)};
  for (auto _ : state) {
    pg::aws::SignableRequest r{"POST", "/", "", {{"Host", "elasticloadbalancing.us-east-1.amazonaws.com"},
                                                 {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
                               body};
    auto s = pg::aws::SignRequest(r, kCreds, o);
    benchmark::DoNotOptimize(s.signature);
  }
}
BENCHMARK(BM_SignElbCreateRule);

void BM_ParseDescribeRules100(benchmark::State& state) {
  std::string xml = "<DescribeRulesResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><DescribeRulesResult><Rules>";
  for (int i = 1; i <= 100; ++i) {
    xml += "<member><RuleArn>arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/pg/0123/4567/" +
           std::to_string(i) + "</RuleArn><Priority>" + std::to_string(i) +
           "</Priority><Conditions><member><Field>path-pattern</Field><PathPatternConfig><Values><member>/p/abcdefghijklmnopqrstuvwxyz/*"
           "</member></Values></PathPatternConfig></member></Conditions><Actions><member><Type>forward</Type>"
           "<TargetGroupArn>arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/pg-x/0123</TargetGroupArn>"
           "</member></Actions><IsDefault>false</IsDefault></member>";
  }
  xml += "</Rules></DescribeRulesResult></DescribeRulesResponse>";
  for (auto _ : state) {
    auto doc = pg::aws::ParseXml(xml);
    benchmark::DoNotOptimize(doc.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(xml.size()));
}
BENCHMARK(BM_ParseDescribeRules100);

}  // namespace

BENCHMARK_MAIN();
