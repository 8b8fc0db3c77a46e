#include "fake_aws.h"

#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <ctime>
#include <optional>
#include <random>
#include <regex>
#include <variant>
#include <set>

#include "aws/xml.h"
#include "common/crypto.h"
#include "common/http_server.h"
#include "model_validator.h"
#include "testing/testing.h"

namespace pg::aws::testing {
namespace js = boost::json;
namespace asio = boost::asio;

namespace {

constexpr const char* kAccount = "123456789012";

std::string S(const js::object& o, const char* k) {
  auto it = o.find(k);
  return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : "";
}

struct Reply {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

// An AWS error to send back, protocol-agnostic until rendered.
struct AwsErr {
  std::string code;
  std::string message;
  int status = 400;
  js::object extra;  // EFS: e.g. FileSystemId of FileSystemAlreadyExists
};

enum class Proto { kEcs, kEfs, kElb };

Reply Render(Proto p, const AwsErr& e) {
  Reply r;
  r.status = e.status;
  if (p == Proto::kElb) {
    r.content_type = "text/xml";
    r.body = "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>" +
             std::string(e.status >= 500 ? "Receiver" : "Sender") + "</Type><Code>" + XmlEscape(e.code) +
             "</Code><Message>" + XmlEscape(e.message) + "</Message></Error><RequestId>" + RandomToken(8) +
             "</RequestId></ErrorResponse>";
  } else if (p == Proto::kEcs) {
    r.content_type = "application/x-amz-json-1.1";
    r.body = js::serialize(js::object{{"__type", "com.amazonaws.ecs#" + e.code}, {"message", e.message}});
  } else {
    js::object o = e.extra;
    o["ErrorCode"] = e.code;
    o["Message"] = e.message;
    r.body = js::serialize(o);
    r.headers.emplace_back("x-amzn-ErrorType", e.code + ":http://internal.amazon.com/coral/com.amazon.efs/");
  }
  return r;
}

std::string Hex(size_t n) {
  std::string h = HexEncode(Sha256(RandomToken(16)));
  return h.substr(0, n);
}

std::string FormDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> ParseForm(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t amp = body.find('&', start);
    std::string_view part = body.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      out.emplace_back(FormDecode(part.substr(0, eq)),
                       eq == std::string_view::npos ? "" : FormDecode(part.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

// A list page: items [start, start+size) and the marker of the next page.
template <class T>
std::pair<std::vector<T>, std::string> Page(const std::vector<T>& all, const std::string& marker, int size) {
  size_t start = marker.empty() ? 0 : std::stoul(marker);
  std::vector<T> out;
  for (size_t i = start; i < all.size() && out.size() < static_cast<size_t>(size); ++i) out.push_back(all[i]);
  size_t next = start + out.size();
  return {out, next < all.size() ? std::to_string(next) : ""};
}

}  // namespace

struct FakeAws::State {
  FakeAwsOptions opt;
  ModelValidator ecs_model, efs_model, elb_model;
  mutable std::mutex mu;
  std::mt19937 rng{1};
  Faults faults;
  std::vector<std::string> violations, operations;

  // ECS
  struct TaskDef {
    std::string arn, family;
    int revision = 0;
    bool active = true;
    js::object def;
  };
  std::map<std::string, TaskDef> task_defs;  // arn →
  std::map<std::string, int> revisions;      // family → last
  struct Task {
    std::string arn, td_arn, last = "PROVISIONING", desired = "RUNNING", stopped_reason, started_by;
    int polls = 0;
    js::array tags;
    std::vector<std::string> subnets;
  };
  std::map<std::string, Task> tasks;
  std::map<std::string, std::string> run_tokens;  // clientToken → task arn

  // EFS
  struct Ap {
    js::object desc;
    int polls = 0;
  };
  std::map<std::string, Ap> aps;
  std::map<std::string, std::string> ap_tokens;
  struct Fs {
    js::object desc;
    int polls = 0;
    bool shared = false;
  };
  std::map<std::string, Fs> fss;
  std::vector<std::string> fs_order;
  struct Mt {
    js::object desc;
    int polls = 0;
  };
  std::map<std::string, Mt> mts;
  std::vector<std::string> mt_order;
  std::string shared_fs;

  // ELBv2
  struct Tg {
    std::string arn, name, protocol, port, vpc, type;
    std::string id_tag;
    std::map<std::string, int> targets;  // "ip:port" → polls
  };
  std::map<std::string, Tg> tgs;
  std::vector<std::string> tg_order;
  struct Rule {
    std::string arn, priority, field, value, tg_arn;
    bool foreign = false;
  };
  std::vector<Rule> rules;  // in priority order of creation
  std::string listener;

  explicit State(FakeAwsOptions o)
      : opt(std::move(o)),
        ecs_model(pg::testing::SharedDir() + "/aws/models/ecs-2014-11-13.normal.json"),
        efs_model(pg::testing::SharedDir() + "/aws/models/elasticfilesystem-2015-02-01.normal.json"),
        elb_model(pg::testing::SharedDir() + "/aws/models/elasticloadbalancingv2-2015-12-01.normal.json") {
    shared_fs = "fs-" + Hex(17);
    Fs fs;
    fs.shared = true;
    fs.desc = {{"OwnerId", kAccount}, {"CreationToken", "shared"}, {"FileSystemId", shared_fs},
               {"LifeCycleState", "available"}, {"NumberOfMountTargets", 2}, {"Encrypted", true},
               {"PerformanceMode", "generalPurpose"}, {"Tags", js::array{}}};
    fss[shared_fs] = fs;
    fs_order.push_back(shared_fs);
    listener = "arn:aws:elasticloadbalancing:" + opt.region + ":" + kAccount + ":listener/app/playground/" + Hex(16) +
               "/" + Hex(16);
    rules.push_back(Rule{listener + "/default", "default", "", "", "", true});
  }

  std::string Region() const { return opt.region; }

  // ---- signature -------------------------------------------------------
  std::optional<std::string> CheckSignature(const http::Request& req, const std::string& signing_name) {
    std::string auth(req[boost::beast::http::field::authorization]);
    std::smatch m;
    static const std::regex re(
        R"(^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$)");
    if (!std::regex_match(auth, m, re)) return "malformed Authorization header: " + auth;
    if (m[1] != opt.credentials.access_key_id) return "unknown access key " + m[1].str();
    if (m[3] != opt.region) return "credential scope region " + m[3].str() + " != " + opt.region;
    if (m[4] != signing_name) return "credential scope service " + m[4].str() + " != " + signing_name;
    std::string date(req["X-Amz-Date"]);
    std::tm tm{};
    if (!strptime(date.c_str(), "%Y%m%dT%H%M%SZ", &tm)) return "bad X-Amz-Date " + date;
    auto t = std::chrono::system_clock::from_time_t(timegm(&tm));
    if (std::chrono::abs(t - std::chrono::system_clock::now()) > std::chrono::minutes(5))
      return "request time too skewed";
    if (date.substr(0, 8) != m[2]) return "scope date differs from X-Amz-Date";
    std::string target(req.target());
    size_t q = target.find('?');
    SignableRequest sreq{std::string(req.method_string()), target.substr(0, q),
                         q == std::string::npos ? "" : target.substr(q + 1), {}, req.body()};
    std::string signed_headers = m[5];
    size_t start = 0;
    while (start < signed_headers.size()) {
      size_t semi = signed_headers.find(';', start);
      std::string name = signed_headers.substr(start, semi == std::string::npos ? std::string::npos : semi - start);
      start = semi == std::string::npos ? signed_headers.size() : semi + 1;
      if (name == "x-amz-date") continue;  // SignRequest adds it
      auto it = req.find(name);
      if (it == req.end()) return "signed header " + name + " missing";
      sreq.headers.emplace_back(name, std::string(it->value()));
    }
    if (signed_headers.find("host") == std::string::npos) return "host is not signed";
    SignOptions so{opt.region, signing_name, t};
    auto sig = SignRequest(sreq, opt.credentials, so);
    if (sig.signature != m[6]) return "signature mismatch; canonical request was:\n" + sig.canonical_request;
    return std::nullopt;
  }

  // ---- dispatch ---------------------------------------------------------
  std::pair<Reply, bool> Handle(const http::Request& req, int64_t* faults_out) {
    std::lock_guard lock(mu);
    std::string target(req.target());
    std::string ctype(req[boost::beast::http::field::content_type]);
    Proto proto;
    const ModelValidator* model;
    if (!req["X-Amz-Target"].empty()) {
      proto = Proto::kEcs;
      model = &ecs_model;
    } else if (target.rfind("/2015-02-01/", 0) == 0) {
      proto = Proto::kEfs;
      model = &efs_model;
    } else {
      proto = Proto::kElb;
      model = &elb_model;
    }
    auto violation = [&](const std::string& what) {
      violations.push_back(what);
      return std::pair{Render(proto, AwsErr{proto == Proto::kElb ? "ValidationError" : "ValidationException", what, 400}),
                       false};
    };
    if (auto bad = CheckSignature(req, model->signing_name())) return violation("signature: " + *bad);

    // Protocol checks and the operation's name and input.
    std::string op;
    js::value input;
    std::vector<std::pair<std::string, std::string>> form;
    std::map<std::string, std::string> uri;
    if (proto == Proto::kEcs) {
      std::string t(req["X-Amz-Target"]);
      if (t.rfind(model->target_prefix() + ".", 0) != 0) return violation("bad X-Amz-Target " + t);
      op = t.substr(model->target_prefix().size() + 1);
      if (req.method() != boost::beast::http::verb::post || target != "/") return violation("JSON 1.1 is POST /");
      if (ctype != "application/x-amz-json-1.1") return violation("bad Content-Type " + ctype);
      boost::system::error_code ec;
      input = js::parse(req.body(), ec);
      if (ec) return violation("body is not JSON");
      if (!model->HasOperation(op)) return violation("unknown operation " + op);
      if (auto v = model->ValidateJson(op, input); !v.ok()) return violation(op + ": " + v.error().message);
    } else if (proto == Proto::kEfs) {
      auto parsed = http::ParseTarget(target);
      if (!parsed.ok()) return violation("bad target");
      auto match = model->MatchRest(std::string(req.method_string()), parsed->path);
      if (!match.ok()) return violation(match.error().message);
      op = match->first;
      uri = match->second;
      js::object doc;
      if (!req.body().empty()) {
        if (ctype.rfind("application/json", 0) != 0) return violation("bad Content-Type " + ctype);
        boost::system::error_code ec;
        auto v = js::parse(req.body(), ec);
        if (ec || !v.is_object()) return violation("body is not a JSON object");
        doc = v.as_object();
      }
      auto qm = model->QueryMembers(op);
      for (const auto& [k, v] : parsed->query) {
        auto it = qm.find(k);
        if (it == qm.end()) return violation(op + ": unknown query parameter " + k);
        if (it->second.shape_type == "integer" || it->second.shape_type == "long") {
          try {
            doc[it->second.member] = std::stoll(v);
          } catch (...) {
            return violation(op + ": query " + k + " not an integer");
          }
        } else {
          doc[it->second.member] = v;
        }
      }
      for (const auto& [k, v] : uri) doc[k] = v;
      input = doc;
      if (auto v = model->ValidateJson(op, input); !v.ok()) return violation(op + ": " + v.error().message);
    } else {
      if (req.method() != boost::beast::http::verb::post || target != "/") return violation("Query is POST /");
      if (ctype.rfind("application/x-www-form-urlencoded", 0) != 0) return violation("bad Content-Type " + ctype);
      form = ParseForm(req.body());
      std::string version;
      std::vector<std::pair<std::string, std::string>> params;
      for (auto& [k, v] : form) {
        if (k == "Action") op = v;
        else if (k == "Version") version = v;
        else params.emplace_back(k, v);
      }
      if (version != model->api_version()) return violation("Version must be " + model->api_version());
      if (!model->HasOperation(op)) return violation("unknown Action " + op);
      auto doc = model->ValidateQuery(op, params);
      if (!doc.ok()) return violation(op + ": " + doc.error().message);
      input = *doc;
    }

    // Faults.
    std::uniform_real_distribution<double> u(0, 1);
    double roll = u(rng);
    bool delay = false;
    if (roll < faults.throttle) {
      ++*faults_out;
      operations.push_back(op + " (throttled)");
      AwsErr e{proto == Proto::kElb ? "Throttling" : "ThrottlingException", "Rate exceeded",
               proto == Proto::kEfs ? 429 : 400};
      return {Render(proto, e), false};
    }
    roll -= faults.throttle;
    if (roll < faults.server_error) {
      ++*faults_out;
      operations.push_back(op + " (5xx)");
      AwsErr e{proto == Proto::kEcs ? "ServerException" : proto == Proto::kEfs ? "InternalServerError" : "ServiceUnavailable",
               "internal error", proto == Proto::kElb ? 503 : 500};
      return {Render(proto, e), false};
    }
    roll -= faults.server_error;
    if (roll < faults.timeout) {
      ++*faults_out;
      delay = true;
      operations.push_back(op + " (timeout)");
    } else {
      operations.push_back(op);
    }

    Reply r;
    if (proto == Proto::kEcs) {
      auto out = Ecs(op, input.as_object());
      if (auto* e = std::get_if<AwsErr>(&out)) return {Render(proto, *e), delay};
      r.content_type = "application/x-amz-json-1.1";
      r.body = js::serialize(std::get<js::object>(out));
    } else if (proto == Proto::kEfs) {
      auto out = Efs(op, input.as_object());
      if (auto* e = std::get_if<AwsErr>(&out)) return {Render(proto, *e), delay};
      r.status = model->ResponseCode(op);
      if (r.status != 204) r.body = js::serialize(std::get<js::object>(out));
    } else {
      auto out = Elb(op, input.as_object());
      if (auto* e = std::get_if<AwsErr>(&out)) return {Render(proto, *e), delay};
      r.content_type = "text/xml";
      r.body = "<" + op + "Response xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><" + op +
               "Result>" + std::get<std::string>(out) + "</" + op + "Result><ResponseMetadata><RequestId>" +
               RandomToken(8) + "</RequestId></ResponseMetadata></" + op + "Response>";
    }
    return {r, delay};
  }

  // ---- ECS -----------------------------------------------------------------
  using EcsOut = std::variant<js::object, AwsErr>;

  static AwsErr Client(const std::string& m) { return AwsErr{"ClientException", m, 400}; }
  static AwsErr InvalidParam(const std::string& m) { return AwsErr{"InvalidParameterException", m, 400}; }

  std::optional<AwsErr> CheckCluster(const js::object& in) {
    std::string c = S(in, "cluster");
    if (c.empty() || c == "default") return AwsErr{"ClusterNotFoundException", "Cluster not found.", 400};
    if (c != "playground" && !c.ends_with(":cluster/playground"))
      return AwsErr{"ClusterNotFoundException", "Cluster not found.", 400};
    return std::nullopt;
  }

  TaskDef* FindTaskDef(const std::string& ref) {
    if (auto it = task_defs.find(ref); it != task_defs.end()) return &it->second;
    std::string fam = ref, rev;
    if (size_t c = ref.rfind(':'); c != std::string::npos && ref.find("arn:") != 0) {
      fam = ref.substr(0, c);
      rev = ref.substr(c + 1);
    }
    TaskDef* best = nullptr;
    for (auto& [arn, td] : task_defs) {
      if (td.family != fam) continue;
      if (!rev.empty() && std::to_string(td.revision) == rev) return &td;
      if (rev.empty() && td.active && (!best || td.revision > best->revision)) best = &td;
    }
    return best;
  }

  js::object TaskJson(const Task& t, bool tags) {
    js::object o{{"taskArn", t.arn},
                 {"clusterArn", "arn:aws:ecs:" + Region() + ":" + kAccount + ":cluster/playground"},
                 {"taskDefinitionArn", t.td_arn},
                 {"lastStatus", t.last},
                 {"desiredStatus", t.desired},
                 {"launchType", "FARGATE"},
                 {"startedBy", t.started_by}};
    js::array containers;
    for (const char* n : {"seed", "workspace", "runner"}) {
      std::string st = t.last == "RUNNING" ? (std::string(n) == "seed" ? "STOPPED" : "RUNNING")
                                           : t.last == "STOPPED" ? "STOPPED" : "PENDING";
      containers.push_back(js::object{{"name", n}, {"lastStatus", st}});
    }
    o["containers"] = containers;
    if (t.last != "PROVISIONING") {
      o["attachments"] = js::array{js::object{
          {"type", "ElasticNetworkInterface"},
          {"status", t.last == "STOPPED" ? "DELETED" : "ATTACHED"},
          {"details", js::array{js::object{{"name", "subnetId"}, {"value", t.subnets.empty() ? "" : t.subnets[0]}},
                                js::object{{"name", "privateIPv4Address"}, {"value", opt.task_ip}}}}}};
    }
    if (!t.stopped_reason.empty()) o["stoppedReason"] = t.stopped_reason;
    if (tags) o["tags"] = t.tags;
    return o;
  }

  // Can the task mount its storage? Checked when it leaves PENDING.
  std::string StorageProblem(const Task& t) {
    auto it = task_defs.find(t.td_arn);
    if (it == task_defs.end()) return "task definition gone";
    if (const auto* vols = it->second.def.if_contains("volumes")) {
      for (const auto& v : vols->as_array()) {
        const auto* efs = v.as_object().if_contains("efsVolumeConfiguration");
        if (!efs) continue;
        std::string fs_id = S(efs->as_object(), "fileSystemId");
        auto fs = fss.find(fs_id);
        if (fs == fss.end() || S(fs->second.desc, "LifeCycleState") != "available") return "file system " + fs_id + " unavailable";
        if (const auto* auth = efs->as_object().if_contains("authorizationConfig")) {
          std::string ap = S(auth->as_object(), "accessPointId");
          if (!ap.empty()) {
            auto a = aps.find(ap);
            if (a == aps.end() || S(a->second.desc, "LifeCycleState") != "available") return "access point " + ap + " unavailable";
            if (S(a->second.desc, "FileSystemId") != fs_id) return "access point " + ap + " is not on " + fs_id;
          }
        }
        bool mount = fs->second.shared;
        for (const auto& [id, mt] : mts)
          if (S(mt.desc, "FileSystemId") == fs_id && S(mt.desc, "LifeCycleState") == "available" &&
              !t.subnets.empty() && S(mt.desc, "SubnetId") == t.subnets[0])
            mount = true;
        if (!mount) return "no available mount target of " + fs_id + " in the task's subnet";
      }
    }
    return "";
  }

  void Advance(Task& t) {
    if (++t.polls < opt.polls_per_state) return;
    t.polls = 0;
    if (t.desired == "STOPPED") {
      if (t.last == "STOPPED") return;
      t.last = t.last == "DEPROVISIONING" || t.last == "PROVISIONING" ? "STOPPED" : "DEPROVISIONING";
      return;
    }
    if (t.last == "PROVISIONING") {
      t.last = "PENDING";
    } else if (t.last == "PENDING") {
      std::string problem = StorageProblem(t);
      if (problem.empty()) {
        t.last = "RUNNING";
      } else {
        t.last = "STOPPED";
        t.desired = "STOPPED";
        t.stopped_reason = "ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes: " + problem;
      }
    }
  }

  EcsOut Ecs(const std::string& op, const js::object& in) {
    if (op == "RegisterTaskDefinition") {
      std::string fam = S(in, "family");
      static const std::regex fam_re("^[A-Za-z0-9_-]{1,255}$");
      if (!std::regex_match(fam, fam_re)) return Client("Family contains invalid characters");
      if (S(in, "networkMode") != "awsvpc") return Client("Fargate requires networkMode awsvpc");
      if (S(in, "cpu").empty() || S(in, "memory").empty()) return Client("Fargate requires task cpu and memory");
      if (const auto* vols = in.if_contains("volumes")) {
        for (const auto& v : vols->as_array()) {
          const auto* efs = v.as_object().if_contains("efsVolumeConfiguration");
          if (!efs) continue;
          const auto& e = efs->as_object();
          const auto* auth = e.if_contains("authorizationConfig");
          bool tls = S(e, "transitEncryption") == "ENABLED";
          if (auth) {
            if (!S(auth->as_object(), "accessPointId").empty() && !S(e, "rootDirectory").empty() &&
                S(e, "rootDirectory") != "/")
              return Client("rootDirectory must be omitted or / when an access point is used");
            if ((S(auth->as_object(), "iam") == "ENABLED" || !S(auth->as_object(), "accessPointId").empty()) && !tls)
              return Client("transitEncryption must be ENABLED with IAM authorization or an access point");
          }
        }
      }
      int rev = ++revisions[fam];
      TaskDef td{"arn:aws:ecs:" + Region() + ":" + kAccount + ":task-definition/" + fam + ":" + std::to_string(rev), fam,
                 rev, true, in};
      task_defs[td.arn] = td;
      js::object d = in;
      d["taskDefinitionArn"] = td.arn;
      d["revision"] = rev;
      d["status"] = "ACTIVE";
      d.erase("tags");
      js::object out{{"taskDefinition", d}};
      if (in.contains("tags")) out["tags"] = in.at("tags");
      return out;
    }
    if (op == "DeregisterTaskDefinition") {
      TaskDef* td = FindTaskDef(S(in, "taskDefinition"));
      if (!td || S(in, "taskDefinition").find(':') == std::string::npos)
        return Client("Unable to describe task definition.");
      td->active = false;
      js::object d = td->def;
      d["taskDefinitionArn"] = td->arn;
      d["status"] = "INACTIVE";
      d.erase("tags");
      return js::object{{"taskDefinition", d}};
    }
    if (op == "ListTaskDefinitions") {
      std::string prefix = S(in, "familyPrefix"), status = S(in, "status");
      if (status.empty()) status = "ACTIVE";
      std::vector<std::string> arns;
      for (const auto& [arn, td] : task_defs)
        if (td.family.rfind(prefix, 0) == 0 && (status == "ACTIVE") == td.active) arns.push_back(arn);
      auto [page, next] = Page(arns, S(in, "nextToken"), opt.page_size);
      js::object out{{"taskDefinitionArns", js::value_from(page)}};
      if (!next.empty()) out["nextToken"] = next;
      return out;
    }
    if (auto e = CheckCluster(in)) return *e;
    if (op == "RunTask") {
      if (S(in, "launchType") != "FARGATE") return InvalidParam("launchType FARGATE expected by this fake");
      std::string token = S(in, "clientToken");
      if (!token.empty() && run_tokens.contains(token)) {
        return js::object{{"tasks", js::array{TaskJson(tasks.at(run_tokens[token]), false)}}, {"failures", js::array{}}};
      }
      TaskDef* td = FindTaskDef(S(in, "taskDefinition"));
      if (!td) return Client("TaskDefinition not found.");
      if (!td->active) return Client("TaskDefinition is inactive");
      const auto* nc = in.if_contains("networkConfiguration");
      const auto* vpc = nc ? nc->as_object().if_contains("awsvpcConfiguration") : nullptr;
      if (!vpc || vpc->as_object().at("subnets").as_array().empty())
        return InvalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.");
      Task t;
      t.arn = "arn:aws:ecs:" + Region() + ":" + kAccount + ":task/playground/" + Hex(32);
      t.td_arn = td->arn;
      t.started_by = S(in, "startedBy");
      if (const auto* tags = in.if_contains("tags")) t.tags = tags->as_array();
      for (const auto& s : vpc->as_object().at("subnets").as_array()) t.subnets.emplace_back(s.as_string());
      tasks[t.arn] = t;
      if (!token.empty()) run_tokens[token] = t.arn;
      return js::object{{"tasks", js::array{TaskJson(t, false)}}, {"failures", js::array{}}};
    }
    if (op == "DescribeTasks") {
      const auto& list = in.at("tasks").as_array();
      if (list.size() > 100) return InvalidParam("Tasks cannot be longer than 100.");
      bool tags = false;
      if (const auto* inc = in.if_contains("include"))
        for (const auto& i : inc->as_array()) tags = tags || i.as_string() == "TAGS";
      js::array out, failures;
      for (const auto& a : list) {
        auto it = tasks.find(std::string(a.as_string()));
        if (it == tasks.end()) {
          failures.push_back(js::object{{"arn", a}, {"reason", "MISSING"}});
          continue;
        }
        Advance(it->second);
        out.push_back(TaskJson(it->second, tags));
      }
      return js::object{{"tasks", out}, {"failures", failures}};
    }
    if (op == "StopTask") {
      auto it = tasks.find(S(in, "task"));
      if (it == tasks.end()) return InvalidParam("The referenced task was not found.");
      Task& t = it->second;
      if (t.desired != "STOPPED") {
        t.desired = "STOPPED";
        t.polls = 0;
        if (t.stopped_reason.empty()) t.stopped_reason = S(in, "reason");
      }
      return js::object{{"task", TaskJson(t, false)}};
    }
    if (op == "ListTasks") {
      std::string fam = S(in, "family"), by = S(in, "startedBy"), desired = S(in, "desiredStatus");
      if (desired.empty()) desired = "RUNNING";
      std::vector<std::string> arns;
      for (const auto& [arn, t] : tasks) {
        if (t.desired != desired) continue;
        if (!by.empty() && t.started_by != by) continue;
        if (!fam.empty() && task_defs.at(t.td_arn).family != fam) continue;
        arns.push_back(arn);
      }
      auto [page, next] = Page(arns, S(in, "nextToken"), opt.page_size);
      js::object out{{"taskArns", js::value_from(page)}};
      if (!next.empty()) out["nextToken"] = next;
      return out;
    }
    return InvalidParam("operation not supported by the fake: " + op);
  }

  // ---- EFS -----------------------------------------------------------------
  static AwsErr NotFound(const std::string& code, const std::string& m) { return AwsErr{code, m, 404}; }

  void AdvanceState(js::object& desc, int& polls, const char* from, const char* to) {
    if (S(desc, "LifeCycleState") != from) return;
    if (++polls < opt.polls_per_state) return;
    polls = 0;
    desc["LifeCycleState"] = to;
  }

  // Advances file systems and mount targets; removes finished deletions.
  void TickEfs() {
    for (auto it = mts.begin(); it != mts.end();) {
      AdvanceState(it->second.desc, it->second.polls, "creating", "available");
      AdvanceState(it->second.desc, it->second.polls, "deleting", "deleted");
      if (S(it->second.desc, "LifeCycleState") == "deleted") {
        std::erase(mt_order, it->first);
        it = mts.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = fss.begin(); it != fss.end();) {
      AdvanceState(it->second.desc, it->second.polls, "creating", "available");
      AdvanceState(it->second.desc, it->second.polls, "deleting", "deleted");
      if (S(it->second.desc, "LifeCycleState") == "deleted") {
        std::erase(fs_order, it->first);
        it = fss.erase(it);
      } else {
        ++it;
      }
    }
  }

  using EfsOut = std::variant<js::object, AwsErr>;

  EfsOut Efs(const std::string& op, const js::object& in) {
    if (op == "CreateAccessPoint") {
      std::string token = S(in, "ClientToken");
      if (auto t = ap_tokens.find(token); t != ap_tokens.end() && aps.contains(t->second)) return aps[t->second].desc;
      auto fs = fss.find(S(in, "FileSystemId"));
      if (fs == fss.end()) return NotFound("FileSystemNotFound", "File system not found");
      if (S(fs->second.desc, "LifeCycleState") != "available")
        return AwsErr{"IncorrectFileSystemLifeCycleState", "File system is not available", 409};
      int count = 0;
      for (const auto& [id, ap] : aps) count += S(ap.desc, "FileSystemId") == fs->first;
      if (count >= 1000) return AwsErr{"AccessPointLimitExceeded", "Too many access points", 403};
      std::string id = "fsap-" + Hex(17);
      js::object d = in;
      d["AccessPointId"] = id;
      d["AccessPointArn"] = "arn:aws:elasticfilesystem:" + Region() + ":" + kAccount + ":access-point/" + id;
      d["OwnerId"] = kAccount;
      d["LifeCycleState"] = "creating";
      if (!d.contains("Tags")) d["Tags"] = js::array{};
      aps[id] = Ap{d, 0};
      ap_tokens[token] = id;
      return d;
    }
    if (op == "DescribeAccessPoints") {
      std::string id = S(in, "AccessPointId"), fs = S(in, "FileSystemId");
      if (!id.empty() && !fs.empty()) return AwsErr{"BadRequest", "Specify AccessPointId or FileSystemId, not both", 400};
      if (!id.empty() && !aps.contains(id)) return NotFound("AccessPointNotFound", "Access point " + id + " not found");
      if (!fs.empty() && !fss.contains(fs)) return NotFound("FileSystemNotFound", "File system not found");
      std::vector<js::value> list;
      for (auto& [apid, ap] : aps) {
        if ((!id.empty() && apid != id) || (!fs.empty() && S(ap.desc, "FileSystemId") != fs)) continue;
        AdvanceState(ap.desc, ap.polls, "creating", "available");
        list.push_back(ap.desc);
      }
      int size = in.contains("MaxResults") ? static_cast<int>(in.at("MaxResults").as_int64()) : opt.page_size;
      auto [page, next] = Page(list, S(in, "NextToken"), size);
      js::object out{{"AccessPoints", js::array(page.begin(), page.end())}};
      if (!next.empty()) out["NextToken"] = next;
      return out;
    }
    if (op == "DeleteAccessPoint") {
      std::string id = S(in, "AccessPointId");
      if (!aps.contains(id)) return NotFound("AccessPointNotFound", "Access point " + id + " not found");
      aps.erase(id);
      return js::object{};
    }
    if (op == "CreateFileSystem") {
      std::string token = S(in, "CreationToken");
      for (const auto& [id, fs] : fss) {
        if (S(fs.desc, "CreationToken") == token) {
          AwsErr e{"FileSystemAlreadyExists", "File system already exists with creation token " + token, 409};
          e.extra["FileSystemId"] = id;
          return e;
        }
      }
      if (fss.size() >= 1000) return AwsErr{"FileSystemLimitExceeded", "Too many file systems", 403};
      std::string id = "fs-" + Hex(17);
      js::object d = in;
      d["OwnerId"] = kAccount;
      d["FileSystemId"] = id;
      d["CreationTime"] = static_cast<int64_t>(std::time(nullptr));
      d["LifeCycleState"] = "creating";
      d["NumberOfMountTargets"] = 0;
      d["SizeInBytes"] = js::object{{"Value", 0}};
      if (!d.contains("Tags")) d["Tags"] = js::array{};
      fss[id] = Fs{d, 0, false};
      fs_order.push_back(id);
      return d;
    }
    if (op == "DescribeFileSystems") {
      TickEfs();
      std::string id = S(in, "FileSystemId"), token = S(in, "CreationToken");
      if (!id.empty() && !fss.contains(id)) return NotFound("FileSystemNotFound", "File system " + id + " not found");
      std::vector<js::value> list;
      for (const auto& fid : fs_order) {
        const auto& fs = fss.at(fid);
        if ((!id.empty() && fid != id) || (!token.empty() && S(fs.desc, "CreationToken") != token)) continue;
        js::object d = fs.desc;
        int n = 0;
        for (const auto& [mid, mt] : mts) n += S(mt.desc, "FileSystemId") == fid;
        if (!fs.shared) d["NumberOfMountTargets"] = n;
        list.push_back(d);
      }
      int size = in.contains("MaxItems") ? static_cast<int>(in.at("MaxItems").as_int64()) : opt.page_size;
      auto [page, next] = Page(list, S(in, "Marker"), size);
      js::object out{{"FileSystems", js::array(page.begin(), page.end())}};
      if (!next.empty()) out["NextMarker"] = next;
      return out;
    }
    if (op == "DeleteFileSystem") {
      std::string id = S(in, "FileSystemId");
      auto fs = fss.find(id);
      if (fs == fss.end()) return NotFound("FileSystemNotFound", "File system " + id + " not found");
      for (const auto& [mid, mt] : mts)
        if (S(mt.desc, "FileSystemId") == id)
          return AwsErr{"FileSystemInUse", "File system " + id + " has mount targets", 409};
      fs->second.desc["LifeCycleState"] = "deleting";
      fs->second.polls = 0;
      return js::object{};
    }
    if (op == "CreateMountTarget") {
      std::string id = S(in, "FileSystemId"), subnet = S(in, "SubnetId");
      auto fs = fss.find(id);
      if (fs == fss.end()) return NotFound("FileSystemNotFound", "File system not found");
      if (S(fs->second.desc, "LifeCycleState") != "available")
        return AwsErr{"IncorrectFileSystemLifeCycleState", "File system is " + S(fs->second.desc, "LifeCycleState"), 409};
      auto subs = std::vector<std::string>{"subnet-0a1b2c3d", "subnet-1a2b3c4d"};
      if (std::find(subs.begin(), subs.end(), subnet) == subs.end())
        return AwsErr{"SubnetNotFound", "Subnet " + subnet + " not found", 400};
      for (const auto& [mid, mt] : mts)
        if (S(mt.desc, "FileSystemId") == id && S(mt.desc, "SubnetId") == subnet)
          return AwsErr{"MountTargetConflict", "A mount target already exists in this Availability Zone", 409};
      std::string mid = "fsmt-" + Hex(17);
      js::object d{{"OwnerId", kAccount},       {"MountTargetId", mid},     {"FileSystemId", id},
                   {"SubnetId", subnet},        {"LifeCycleState", "creating"}, {"IpAddress", "10.0.0.9"},
                   {"AvailabilityZoneName", subnet == subs[0] ? Region() + "a" : Region() + "b"}};
      mts[mid] = Mt{d, 0};
      mt_order.push_back(mid);
      return d;
    }
    if (op == "DescribeMountTargets") {
      TickEfs();
      std::string fs = S(in, "FileSystemId"), mid = S(in, "MountTargetId");
      if (fs.empty() && mid.empty() && S(in, "AccessPointId").empty())
        return AwsErr{"BadRequest", "FileSystemId, MountTargetId or AccessPointId is required", 400};
      if (!fs.empty() && !fss.contains(fs)) return NotFound("FileSystemNotFound", "File system not found");
      if (!mid.empty() && !mts.contains(mid)) return NotFound("MountTargetNotFound", "Mount target not found");
      std::vector<js::value> list;
      for (const auto& m : mt_order) {
        const auto& mt = mts.at(m);
        if ((!fs.empty() && S(mt.desc, "FileSystemId") != fs) || (!mid.empty() && m != mid)) continue;
        list.push_back(mt.desc);
      }
      int size = in.contains("MaxItems") ? static_cast<int>(in.at("MaxItems").as_int64()) : opt.page_size;
      auto [page, next] = Page(list, S(in, "Marker"), size);
      js::object out{{"MountTargets", js::array(page.begin(), page.end())}};
      if (!next.empty()) out["NextMarker"] = next;
      return out;
    }
    if (op == "DeleteMountTarget") {
      std::string mid = S(in, "MountTargetId");
      auto it = mts.find(mid);
      if (it == mts.end()) return NotFound("MountTargetNotFound", "Mount target not found");
      // A mount target in use by a running task stays usable until deleted.
      it->second.desc["LifeCycleState"] = "deleting";
      it->second.polls = 0;
      return js::object{};
    }
    return AwsErr{"BadRequest", "operation not supported by the fake: " + op, 400};
  }

  // ---- ELBv2 -----------------------------------------------------------------
  using ElbOut = std::variant<std::string, AwsErr>;
  static AwsErr ElbErr(const std::string& code, const std::string& m) { return AwsErr{code, m, 400}; }

  static std::string Tag(const std::string& name, const std::string& v) { return "<" + name + ">" + XmlEscape(v) + "</" + name + ">"; }

  std::string TgXml(const Tg& t) {
    return "<member>" + Tag("TargetGroupArn", t.arn) + Tag("TargetGroupName", t.name) + Tag("Protocol", t.protocol) +
           Tag("Port", t.port) + Tag("VpcId", t.vpc) + Tag("TargetType", t.type) + "<LoadBalancerArns/></member>";
  }
  std::string RuleXml(const Rule& r) {
    std::string cond;
    if (!r.field.empty()) {
      std::string cfg = r.field == "path-pattern" ? "PathPatternConfig" : "HostHeaderConfig";
      cond = "<member>" + Tag("Field", r.field) + "<Values>" + Tag("member", r.value) + "</Values><" + cfg +
             "><Values>" + Tag("member", r.value) + "</Values></" + cfg + "></member>";
    }
    std::string act = r.tg_arn.empty() ? "<member><Type>fixed-response</Type></member>"
                                       : "<member><Type>forward</Type>" + Tag("TargetGroupArn", r.tg_arn) + "</member>";
    return "<member>" + Tag("RuleArn", r.arn) + Tag("Priority", r.priority) + "<Conditions>" + cond +
           "</Conditions><Actions>" + act + "</Actions>" + Tag("IsDefault", r.priority == "default" ? "true" : "false") +
           "</member>";
  }

  static std::vector<std::string> Strings(const js::object& in, const char* key) {
    std::vector<std::string> out;
    if (const auto* a = in.if_contains(key))
      for (const auto& v : a->as_array()) out.emplace_back(v.as_string());
    return out;
  }
  static std::string Int(const js::object& in, const char* k) {
    auto it = in.find(k);
    return it == in.end() ? "" : std::to_string(it->value().as_int64());
  }

  ElbOut Elb(const std::string& op, const js::object& in) {
    if (op == "CreateTargetGroup") {
      std::string name = S(in, "Name");
      static const std::regex name_re("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$");
      if (!std::regex_match(name, name_re))
        return ElbErr("ValidationError", "Target group name '" + name + "' must be 1-32 alphanumerics or hyphens");
      Tg t{"", name, S(in, "Protocol"), Int(in, "Port"), S(in, "VpcId"), S(in, "TargetType"), "", {}};
      if (t.type.empty()) t.type = "instance";
      if (t.type == "ip" && t.vpc.empty()) return ElbErr("ValidationError", "A VPC ID must be specified");
      for (const auto& [arn, old] : tgs) {
        if (old.name != name) continue;
        if (old.protocol != t.protocol || old.port != t.port || old.vpc != t.vpc || old.type != t.type)
          return ElbErr("DuplicateTargetGroupName", "A target group with the same name '" + name + "' exists");
        return "<TargetGroups>" + TgXml(old) + "</TargetGroups>";
      }
      t.arn = "arn:aws:elasticloadbalancing:" + Region() + ":" + kAccount + ":targetgroup/" + name + "/" + Hex(16);
      if (const auto* tags = in.if_contains("Tags"))
        for (const auto& tag : tags->as_array())
          if (S(tag.as_object(), "Key") == "playground-id") t.id_tag = S(tag.as_object(), "Value");
      tgs[t.arn] = t;
      tg_order.push_back(t.arn);
      return "<TargetGroups>" + TgXml(t) + "</TargetGroups>";
    }
    if (op == "DescribeTargetGroups") {
      auto names = Strings(in, "Names");
      auto arns = Strings(in, "TargetGroupArns");
      std::vector<std::string> list;
      for (const auto& n : names) {
        bool found = false;
        for (const auto& a : tg_order)
          if (tgs.at(a).name == n) list.push_back(a), found = true;
        if (!found) return ElbErr("TargetGroupNotFound", "One or more target groups not found");
      }
      for (const auto& a : arns) {
        if (!tgs.contains(a)) return ElbErr("TargetGroupNotFound", "One or more target groups not found");
        list.push_back(a);
      }
      if (names.empty() && arns.empty()) list = tg_order;
      int size = in.contains("PageSize") ? static_cast<int>(in.at("PageSize").as_int64()) : opt.page_size;
      size = std::min(size, opt.page_size);
      auto [page, next] = Page(list, S(in, "Marker"), size);
      std::string xml = "<TargetGroups>";
      for (const auto& a : page) xml += TgXml(tgs.at(a));
      xml += "</TargetGroups>";
      if (!next.empty()) xml += Tag("NextMarker", next);
      return xml;
    }
    if (op == "RegisterTargets" || op == "DeregisterTargets" || op == "DescribeTargetHealth") {
      auto it = tgs.find(S(in, "TargetGroupArn"));
      if (it == tgs.end()) return ElbErr("TargetGroupNotFound", "Target group not found");
      Tg& t = it->second;
      if (op == "DescribeTargetHealth") {
        std::string xml = "<TargetHealthDescriptions>";
        for (auto& [key, polls] : t.targets) {
          std::string state = ++polls >= opt.polls_per_state ? "healthy" : "initial";
          size_t colon = key.rfind(':');
          xml += "<member><Target>" + Tag("Id", key.substr(0, colon)) + Tag("Port", key.substr(colon + 1)) +
                 "</Target>" + Tag("HealthCheckPort", key.substr(colon + 1)) + "<TargetHealth>" + Tag("State", state) +
                 "</TargetHealth></member>";
        }
        return xml + "</TargetHealthDescriptions>";
      }
      static const std::regex ip_re(R"(^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$)");
      for (const auto& tv : in.at("Targets").as_array()) {
        std::string id = S(tv.as_object(), "Id");
        std::string port = Int(tv.as_object(), "Port");
        if (port.empty()) port = t.port;
        if (t.type == "ip" && !std::regex_match(id, ip_re)) return ElbErr("InvalidTarget", "Target " + id + " is not an IP");
        if (op == "RegisterTargets") t.targets.emplace(id + ":" + port, 0);
        else t.targets.erase(id + ":" + port);
      }
      return std::string();
    }
    if (op == "DescribeRules") {
      std::vector<size_t> list;
      if (in.contains("ListenerArn")) {
        if (S(in, "ListenerArn") != listener) return ElbErr("ListenerNotFound", "Listener not found");
        for (size_t i = 0; i < rules.size(); ++i) list.push_back(i);
      }
      for (const auto& a : Strings(in, "RuleArns")) {
        bool found = false;
        for (size_t i = 0; i < rules.size(); ++i)
          if (rules[i].arn == a) list.push_back(i), found = true;
        if (!found) return ElbErr("RuleNotFound", "One or more rules not found");
      }
      int size = in.contains("PageSize") ? static_cast<int>(in.at("PageSize").as_int64()) : opt.page_size;
      size = std::min(size, opt.page_size * 10);
      auto [page, next] = Page(list, S(in, "Marker"), size);
      std::string xml = "<Rules>";
      for (size_t i : page) xml += RuleXml(rules[i]);
      xml += "</Rules>";
      if (!next.empty()) xml += Tag("NextMarker", next);
      return xml;
    }
    if (op == "CreateRule") {
      if (S(in, "ListenerArn") != listener) return ElbErr("ListenerNotFound", "Listener not found");
      std::string prio = Int(in, "Priority");
      for (const auto& r : rules)
        if (r.priority == prio) return ElbErr("PriorityInUse", "Priority '" + prio + "' is currently in use");
      if (static_cast<int>(rules.size()) - 1 >= opt.max_rules)
        return ElbErr("TooManyRules", "A listener can have at most " + std::to_string(opt.max_rules) + " rules");
      const auto& conds = in.at("Conditions").as_array();
      if (conds.size() != 1) return ElbErr("ValidationError", "this fake takes exactly one condition");
      const auto& c = conds[0].as_object();
      Rule r;
      r.arn = listener + "/rule/" + Hex(16);
      r.arn.replace(r.arn.find(":listener/"), 10, ":listener-rule/");
      r.priority = prio;
      r.field = S(c, "Field");
      const char* cfg = r.field == "path-pattern" ? "PathPatternConfig" : r.field == "host-header" ? "HostHeaderConfig" : "";
      if (!*cfg) return ElbErr("ValidationError", "unsupported condition field " + r.field);
      auto values = c.contains(cfg) ? Strings(c.at(cfg).as_object(), "Values") : Strings(c, "Values");
      if (values.size() != 1 || values[0].size() > 128)
        return ElbErr("ValidationError", "a condition value of at most 128 characters is required");
      r.value = values[0];
      const auto& acts = in.at("Actions").as_array();
      if (acts.size() != 1 || S(acts[0].as_object(), "Type") != "forward")
        return ElbErr("ValidationError", "this fake takes one forward action");
      r.tg_arn = S(acts[0].as_object(), "TargetGroupArn");
      if (!tgs.contains(r.tg_arn)) return ElbErr("TargetGroupNotFound", "Target group not found");
      rules.push_back(r);
      return "<Rules>" + RuleXml(r) + "</Rules>";
    }
    if (op == "DeleteRule") {
      std::string arn = S(in, "RuleArn");
      for (auto it = rules.begin(); it != rules.end(); ++it) {
        if (it->arn != arn) continue;
        if (it->priority == "default") return ElbErr("OperationNotPermitted", "Default rule cannot be deleted");
        rules.erase(it);
        return std::string();
      }
      return ElbErr("RuleNotFound", "Rule not found");
    }
    if (op == "DeleteTargetGroup") {
      std::string arn = S(in, "TargetGroupArn");
      for (const auto& r : rules)
        if (r.tg_arn == arn)
          return ElbErr("ResourceInUse", "Target group '" + arn + "' is currently in use by a listener or a rule");
      tgs.erase(arn);
      std::erase(tg_order, arn);
      return std::string();
    }
    return ElbErr("InvalidAction", "operation not supported by the fake: " + op);
  }
};

namespace {

asio::awaitable<std::optional<http::Response>> Serve(FakeAws::State* st, http::Request* req, std::atomic<int64_t>* count,
                                                     std::atomic<int64_t>* faults, std::chrono::milliseconds* delay_by) {
  ++*count;
  int64_t f = 0;
  auto [reply, delay] = st->Handle(*req, &f);
  *faults += f;
  if (delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    timer.expires_after(*delay_by);
    co_await timer.async_wait(asio::use_awaitable);
  }
  http::Response res{static_cast<boost::beast::http::status>(reply.status), req->version()};
  res.set(boost::beast::http::field::content_type, reply.content_type);
  res.set("x-amzn-RequestId", RandomToken(8));
  for (const auto& [k, v] : reply.headers) res.set(k, v);
  res.keep_alive(req->keep_alive());
  res.body() = std::move(reply.body);
  res.prepare_payload();
  co_return res;
}

struct Runtime {
  asio::io_context io;
  std::unique_ptr<http::Server> server;
  Endpoint ep;
  std::chrono::milliseconds delay{400};
};

std::map<const FakeAws*, std::unique_ptr<Runtime>>& Runtimes() {
  static std::map<const FakeAws*, std::unique_ptr<Runtime>> m;
  return m;
}
std::mutex runtimes_mu;

}  // namespace

FakeAws::FakeAws(FakeAwsOptions options) : options_(options), state_(std::make_unique<State>(options)) {
  auto rt = std::make_unique<Runtime>();
  State* st = state_.get();
  auto* count = &requests_;
  auto* faults = &faults_;
  auto* delay = &rt->delay;
  http::ServerOptions so;
  so.body_limit = 8 << 20;
  rt->server = std::make_unique<http::Server>(
      rt->io.get_executor(),
      [st, count, faults, delay](http::Request& req, http::Stream&, boost::beast::flat_buffer&) {
        return Serve(st, &req, count, faults, delay);
      },
      so);
  auto ep = rt->server->Listen(Endpoint::Tcp("127.0.0.1", 0));
  if (!ep.ok()) throw std::runtime_error("fake aws: " + ep.error().message);
  rt->ep = *ep;
  rt->server->Start();
  Runtime* raw = rt.get();
  {
    std::lock_guard lock(runtimes_mu);
    Runtimes()[this] = std::move(rt);
  }
  thread_ = std::thread([raw] { raw->io.run(); });
}

FakeAws::~FakeAws() {
  Runtime* rt;
  {
    std::lock_guard lock(runtimes_mu);
    rt = Runtimes()[this].get();
  }
  asio::post(rt->io, [rt] {
    rt->server->Stop();
    rt->io.stop();
  });
  thread_.join();
  std::lock_guard lock(runtimes_mu);
  Runtimes().erase(this);
}

std::string FakeAws::url() const {
  std::lock_guard lock(runtimes_mu);
  return "http://" + Runtimes().at(this)->ep.Authority();
}

std::string FakeAws::shared_file_system_id() const { return state_->shared_fs; }
std::string FakeAws::listener_arn() const { return state_->listener; }

void FakeAws::SetFaults(Faults f) {
  std::lock_guard lock(state_->mu);
  state_->faults = f;
  state_->rng.seed(f.seed);
  std::lock_guard l2(runtimes_mu);
  Runtimes().at(this)->delay = f.timeout_delay;
}

void FakeAws::AddForeignRules(int n) {
  std::lock_guard lock(state_->mu);
  for (int i = 1; i <= n; ++i) {
    State::Rule r{state_->listener + "/foreign/" + std::to_string(i), std::to_string(i), "path-pattern",
                  "/foreign/" + std::to_string(i) + "/*", "", true};
    r.arn.replace(r.arn.find(":listener/"), 10, ":listener-rule/");
    state_->rules.push_back(r);
  }
}

std::vector<std::string> FakeAws::Leaks() const {
  std::lock_guard lock(state_->mu);
  std::vector<std::string> out;
  for (const auto& [arn, td] : state_->task_defs)
    if (td.active) out.push_back("ecs task definition " + arn);
  for (const auto& [arn, t] : state_->tasks)
    if (t.last != "STOPPED") out.push_back("ecs task " + arn + " " + t.last);
  for (const auto& [id, ap] : state_->aps) out.push_back("efs access point " + id);
  for (const auto& [id, fs] : state_->fss)
    if (!fs.shared) out.push_back("efs file system " + id + " " + S(fs.desc, "LifeCycleState"));
  for (const auto& [id, mt] : state_->mts) out.push_back("efs mount target " + id + " " + S(mt.desc, "LifeCycleState"));
  for (const auto& [arn, tg] : state_->tgs) out.push_back("elb target group " + arn);
  for (const auto& r : state_->rules)
    if (!r.foreign) out.push_back("elb rule " + r.arn);
  return out;
}

std::vector<std::string> FakeAws::Violations() const {
  std::lock_guard lock(state_->mu);
  return state_->violations;
}

std::vector<std::string> FakeAws::Operations() const {
  std::lock_guard lock(state_->mu);
  return state_->operations;
}

}  // namespace pg::aws::testing
