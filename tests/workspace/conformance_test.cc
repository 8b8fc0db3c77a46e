// WebSocket conformance of the workspace server, with a raw-socket client
// that writes frames byte by byte: fragmentation, ping/pong, the close
// handshake and framing violations.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "testing/testing.h"
#include "ws_support.h"

namespace pg::wstest {
namespace {

struct Frame {
  bool fin = true;
  int opcode = 0;
  std::string payload;
};

class RawClient {
 public:
  explicit RawClient(const std::string& sock) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock.c_str());
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("connect");
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    Write("GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
      char c;
      if (read(fd_, &c, 1) != 1) throw std::runtime_error("handshake");
      head += c;
    }
    response_ = head;
  }
  ~RawClient() { close(fd_); }
  const std::string& response() const { return response_; }

  void Write(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = write(fd_, s.data() + off, s.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }
  // One frame; `mask` false sends it unmasked (a violation from a client).
  void SendFrame(int opcode, const std::string& payload, bool fin = true, bool mask = true, int rsv = 0,
                 std::optional<uint64_t> declared_len = std::nullopt) {
    std::string f;
    f += static_cast<char>((fin ? 0x80 : 0) | (rsv << 4) | opcode);
    uint64_t len = declared_len.value_or(payload.size());
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
      f += static_cast<char>(m | len);
    } else if (len < 65536) {
      f += static_cast<char>(m | 126);
      f += static_cast<char>(len >> 8);
      f += static_cast<char>(len & 0xFF);
    } else {
      f += static_cast<char>(m | 127);
      for (int i = 7; i >= 0; --i) f += static_cast<char>((len >> (8 * i)) & 0xFF);
    }
    const char key[4] = {0x12, 0x34, 0x56, 0x78};
    if (mask) f.append(key, 4);
    for (size_t i = 0; i < payload.size(); ++i) f += mask ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i];
    Write(f);
  }
  bool ReadN(std::string& out, size_t n) {
    out.resize(n);
    size_t off = 0;
    while (off < n) {
      ssize_t r = read(fd_, out.data() + off, n - off);
      if (r <= 0) return false;
      off += static_cast<size_t>(r);
    }
    return true;
  }
  std::optional<Frame> ReadFrame() {
    std::string h;
    if (!ReadN(h, 2)) return std::nullopt;
    Frame fr;
    fr.fin = h[0] & 0x80;
    fr.opcode = h[0] & 0x0F;
    uint64_t len = h[1] & 0x7F;
    std::string ext;
    if (len == 126) {
      if (!ReadN(ext, 2)) return std::nullopt;
      len = (uint8_t(ext[0]) << 8) | uint8_t(ext[1]);
    } else if (len == 127) {
      if (!ReadN(ext, 8)) return std::nullopt;
      len = 0;
      for (char c : ext) len = (len << 8) | uint8_t(c);
    }
    if (!ReadN(fr.payload, len)) return std::nullopt;
    return fr;
  }
  // The next frame that is not a text message (e.g. welcome, fs events).
  std::optional<Frame> NextNonText() {
    for (;;) {
      auto f = ReadFrame();
      if (!f || f->opcode != 1) return f;
    }
  }
  bool AtEof() {
    char c;
    return read(fd_, &c, 1) == 0;
  }

 private:
  int fd_ = -1;
  std::string response_;
};

int CloseCode(const Frame& f) {
  if (f.payload.size() < 2) return 0;
  return (uint8_t(f.payload[0]) << 8) | uint8_t(f.payload[1]);
}

class ConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.path() + "/root";
    std::filesystem::create_directories(root_);
    sock_ = tmp_.path() + "/ws.sock";
    server_ = std::make_unique<ServerProcess>(root_, sock_, std::vector<std::string>{"--max-message-bytes", "65536"});
  }
  testing::TempDir tmp_;
  std::string root_, sock_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(ConformanceTest, HandshakeAcceptKey) {
  RawClient c(sock_);
  EXPECT_NE(c.response().find("101"), std::string::npos);
  EXPECT_NE(c.response().find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);  // RFC 6455 example
  auto welcome = c.ReadFrame();
  ASSERT_TRUE(welcome);
  EXPECT_EQ(welcome->opcode, 1);
  EXPECT_NE(welcome->payload.find("\"welcome\""), std::string::npos);
}

TEST_F(ConformanceTest, FragmentedMessageWithInterleavedPing) {
  RawClient c(sock_);
  ASSERT_TRUE(c.ReadFrame());  // welcome
  c.SendFrame(1, R"({"type":"li)", false);
  c.SendFrame(9, "are you there", true);  // control frames may come between fragments
  c.SendFrame(0, R"(st","i)", false);
  c.SendFrame(0, R"(d":77})", true);
  auto pong = c.ReadFrame();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, 10);
  EXPECT_EQ(pong->payload, "are you there");
  auto reply = c.ReadFrame();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->opcode, 1);
  EXPECT_NE(reply->payload.find("\"tree\""), std::string::npos);
  EXPECT_NE(reply->payload.find("\"id\":77"), std::string::npos);
  // A fragmented message whose UTF-8 character straddles the fragments is fine.
  c.SendFrame(1, "{\"type\":\"hello\",\"id\":8,\"name\":\"\xC3", false);
  c.SendFrame(0, "\xA9\"}", true);
  auto ok = c.ReadFrame();
  ASSERT_TRUE(ok);
  EXPECT_NE(ok->payload.find("\"ok\""), std::string::npos);
}

TEST_F(ConformanceTest, CloseHandshake) {
  RawClient c(sock_);
  ASSERT_TRUE(c.ReadFrame());
  c.SendFrame(8, std::string("\x03\xE8" "bye", 5));
  auto f = c.NextNonText();
  ASSERT_TRUE(f);
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(CloseCode(*f), 1000);
  EXPECT_TRUE(c.AtEof());
}

void ExpectClose(RawClient& c, int code) {
  auto f = c.NextNonText();
  ASSERT_TRUE(f) << "no close frame";
  EXPECT_EQ(f->opcode, 8);
  EXPECT_EQ(CloseCode(*f), code);
}

TEST_F(ConformanceTest, UnmaskedFrameIs1002) {
  RawClient c(sock_);
  c.SendFrame(1, R"({"type":"list"})", true, false);
  ExpectClose(c, 1002);
}

TEST_F(ConformanceTest, ReservedBitsAre1002) {
  RawClient c(sock_);
  c.SendFrame(1, R"({"type":"list"})", true, true, 4);
  ExpectClose(c, 1002);
}

TEST_F(ConformanceTest, FragmentedControlFrameIs1002) {
  RawClient c(sock_);
  c.SendFrame(9, "x", false);
  ExpectClose(c, 1002);
}

TEST_F(ConformanceTest, ContinuationWithoutStartIs1002) {
  RawClient c(sock_);
  c.SendFrame(0, "x", true);
  ExpectClose(c, 1002);
}

TEST_F(ConformanceTest, UnknownOpcodeIs1002) {
  RawClient c(sock_);
  c.SendFrame(3, "x", true);
  ExpectClose(c, 1002);
}

TEST_F(ConformanceTest, InvalidUtf8Is1007) {
  RawClient c(sock_);
  c.SendFrame(1, "{\"type\":\"\xFF\"}", true);
  ExpectClose(c, 1007);
}

TEST_F(ConformanceTest, InvalidUtf8AcrossFragmentsIs1007) {
  RawClient c(sock_);
  c.SendFrame(1, "{\"a\":\"\xE2\x82", false);
  c.SendFrame(0, "x\"}", true);
  ExpectClose(c, 1007);
}

TEST_F(ConformanceTest, OversizedFrameIs1009) {
  RawClient c(sock_);
  c.SendFrame(1, "", true, true, 0, uint64_t{1} << 40);  // declares a terabyte
  ExpectClose(c, 1009);
}

TEST_F(ConformanceTest, OversizedFragmentedMessageIs1009) {
  RawClient c(sock_);
  std::string part(40000, ' ');
  c.SendFrame(1, part, false);
  c.SendFrame(0, part, true);
  ExpectClose(c, 1009);
}

TEST_F(ConformanceTest, ServerStaysUpForOthers) {
  {
    RawClient c(sock_);
    c.SendFrame(1, "garbage \xFF", true, false);
  }
  WsClient ok(sock_);
  ok.Send(R"({"type":"list","id":1})");
  EXPECT_TRUE(ok.Expect("tree"));
}

}  // namespace
}  // namespace pg::wstest
