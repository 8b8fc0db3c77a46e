// Network escapes through the public run API: the hub's port on
// 127.0.0.1, a listener of this test on every host address, outside
// addresses (TCP and UDP), name resolution, and an abstract unix socket of
// the host's network namespace. Everything must fail; the positive
// controls (the same listeners reached from the host) must succeed.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

#include "hostile_fixture.h"

namespace pg::testing::hostile {
namespace {

class NetworkTest : public HostileTest {
 protected:
  void TearDown() override {
    if (tcp_ >= 0) close(tcp_);
    if (unix_ >= 0) close(unix_);
    HostileTest::TearDown();
  }
  // A TCP listener on all host addresses; returns its port.
  int ListenTcp() {
    tcp_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    EXPECT_EQ(bind(tcp_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(listen(tcp_, 16), 0);
    socklen_t len = sizeof a;
    getsockname(tcp_, reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }
  // A listener in the abstract unix namespace (per network namespace).
  void ListenAbstract(const std::string& name) {
    unix_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    a.sun_path[0] = '\0';
    memcpy(a.sun_path + 1, name.data(), name.size());
    socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + name.size();
    EXPECT_EQ(bind(unix_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(listen(unix_, 16), 0);
  }
  static bool ConnectsFromHost(const std::string& ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
    bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    close(s);
    return ok;
  }
  int tcp_ = -1, unix_ = -1;
};

std::vector<std::string> HostAddresses() {
  std::vector<std::string> out;
  struct ifaddrs* ifs = nullptr;
  if (getifaddrs(&ifs) != 0) return out;
  for (auto* i = ifs; i; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
    if (std::string(buf).rfind("127.", 0) == 0) continue;
    out.emplace_back(buf);
  }
  freeifaddrs(ifs);
  return out;
}

TEST_P(NetworkTest, NoConnectionLeavesThePlayground) {
  const int port = ListenTcp();
  auto addrs = HostAddresses();
  ASSERT_FALSE(addrs.empty()) << "the host has no non-loopback IPv4 address to try";
  // Positive controls: from the host, the listeners answer.
  ASSERT_TRUE(ConnectsFromHost("127.0.0.1", hub_port()));
  for (const auto& ip : addrs) ASSERT_TRUE(ConnectsFromHost(ip, port)) << ip;
  const std::string abstract = "pg-hostile-" + std::to_string(getpid()) + "-" + orchestrator();
  ListenAbstract(abstract);

  std::string targets = "[";
  targets += "[\"hub\", \"127.0.0.1\", " + std::to_string(hub_port()) + "],";
  targets += "[\"listener_lo\", \"127.0.0.1\", " + std::to_string(port) + "],";
  for (const auto& ip : addrs) {
    targets += "[\"host_" + ip + "_hub\", \"" + ip + "\", " + std::to_string(hub_port()) + "],";
    targets += "[\"host_" + ip + "_listener\", \"" + ip + "\", " + std::to_string(port) + "],";
  }
  targets += "[\"dns_1.1.1.1\", \"1.1.1.1\", 53], [\"web_1.1.1.1\", \"1.1.1.1\", 443]]";
  const std::string code = "targets = " + targets + "\nabstract = \"" + abstract + "\"\n" + R"PY(
res = {}
def tcp(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect((ip, port))
    finally:
        s.close()
for name, ip, port in targets:
    res[name] = attempt(lambda: tcp(ip, port))
def tcp6():
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(("2606:4700:4700::1111", 53))
    finally:
        s.close()
res["ipv6_1.1.1.1"] = attempt(tcp6)
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        # A DNS query for example.com (A).
        q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01"
        s.sendto(q, ("1.1.1.1", 53))
        s.recvfrom(512)
    finally:
        s.close()
res["udp_dns"] = attempt(udp)
res["resolve_example.com"] = attempt(lambda: socket.getaddrinfo("example.com", 443))
def unix_abstract():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect("\0" + abstract)
    finally:
        s.close()
res["abstract_unix"] = attempt(unix_abstract)
def unix_path(p):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(3)
    try:
        s.connect(p)
    finally:
        s.close()
for name in ("runner.sock", "workspace.sock"):
    res["own " + name] = attempt(lambda: unix_path("/run/playground/" + name))
try:
    res["run dir"] = sorted(os.listdir("/run/playground"))
except OSError as e:
    res["run dir"] = []
res["interfaces"] = sorted(n for _, n in socket.if_nameindex())
report(**res)
)PY";
  auto r = Python(code, R"({"wall_ms": 30000})");
  ASSERT_EQ(r.http_status, 200) << Describe(r);
  ASSERT_EQ(r.status, "ok") << Describe(r);
  ASSERT_TRUE(r.report.is_object()) << Describe(r);
  for (const auto& [k, v] : r.report.as_object()) {
    if (k == "interfaces" || k == "run dir") continue;
    // Docker: runs are processes of the runner container, which holds the
    // playground's own socket directory (/run/playground): a run can talk
    // to its own playground's servers, as its user can through the hub.
    // Only those two sockets are there, nothing of the host or of another
    // playground (asserted below). Local: runs do not see them at all.
    if (!local() && k.starts_with("own ")) continue;
    ASSERT_TRUE(v.is_string()) << k;
    EXPECT_NE(v.as_string(), "ok") << k << " was reachable from inside the playground\n" << Describe(r);
  }
  // The only interface is the (own) loopback: local gives each run its own
  // network namespace; docker runs share the runner container's, which
  // has NetworkMode none.
  EXPECT_EQ(boost::json::serialize(r.report.at("interfaces")), R"(["lo"])") << Describe(r);
  for (const auto& f : r.report.at("run dir").as_array())
    EXPECT_TRUE(f.as_string() == "runner.sock" || f.as_string() == "workspace.sock") << f << "\n" << Describe(r);
  if (local()) {
    EXPECT_TRUE(r.report.at("run dir").as_array().empty()) << Describe(r);
  }
}

INSTANTIATE_TEST_SUITE_P(Orchestrators, NetworkTest, ::testing::Values("local", "docker"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace pg::testing::hostile
