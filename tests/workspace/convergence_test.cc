// Convergence: 8 concurrent real clients on one document — 4 written with
// Beast (in this process) and 4 running the real @codemirror/collab client
// code under Node with npm `ws` — make 10,000 random edits with emoji,
// combining characters, CRLF input and deletions across lines, with random
// delays and reconnects. At the end every client's text, the server's copy
// and the file on disk (CRLF kept) are identical.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "testing/testing.h"
#include "workspace/changeset.h"
#include "workspace/text.h"
#include "ws_support.h"

namespace pg::wstest {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using workspace::ApplyChangeSet;
using workspace::ChangeSet;
using workspace::Text;

// A child process with its stdin and stdout piped.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    in_ = in[1];
    out_ = out[0];
  }
  ~Child() {
    close(in_);
    close(out_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void WriteLine(const std::string& s) {
    std::string l = s + "\n";
    (void)!write(in_, l.data(), l.size());
  }
  // One line of stdout, or nullopt at EOF.
  std::optional<std::string> ReadLine() {
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      char tmp[65536];
      ssize_t n = read(out_, tmp, sizeof tmp);
      if (n <= 0) return std::nullopt;
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }
  int Wait() {
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    return st;
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  std::string buf_;
};

const char* kPool[] = {"a", "xyz", " ", "😀", "👍🏽", "e\xCC\x81", "n\xCC\x83o", "\n", "foo\r\nbar", "\r\n",
                       "ß", "中文", "\t", "line1\nline2\n", "🇫🇷", "Ω", "}", "z\r\n\r\nw"};

// A Beast client that never holds unconfirmed edits: it pushes one edit at
// its synced version and, when refused, drops it and makes a new one after
// catching up. Its text is always the server's text at its version.
class BeastEditor {
 public:
  BeastEditor(std::string sock, int seed, int quota) : sock_(std::move(sock)), rng_(seed), quota_(quota) {
    client_id_ = "beast-" + std::to_string(seed);
  }

  void Run(std::atomic<uint64_t>* target, std::atomic<bool>* failed) {
    try {
      Connect();
      while (edits_ < quota_) {
        if (!pending_) Push();
        Pump(std::chrono::milliseconds(rng_() % 4));
        if (rng_() % 1000 < 3) Reconnect();
      }
      while (pending_) Pump(100ms);
      done_ = true;
      while (target->load() == 0) Pump(20ms);
      auto end = std::chrono::steady_clock::now() + 30s;
      while (version_ < target->load() && std::chrono::steady_clock::now() < end) Pump(50ms);
      final_ = text_.ToUtf8();
      client_->Close();
    } catch (const std::exception& e) {
      ADD_FAILURE() << client_id_ << ": " << e.what();
      failed->store(true);
      done_ = true;
    }
  }
  bool done() const { return done_; }
  int edits() const { return edits_; }
  const std::string& final_text() const { return final_; }
  uint64_t version() const { return version_; }

 private:
  void Connect(std::optional<uint64_t> resume = std::nullopt) {
    client_ = std::make_unique<WsClient>(sock_);
    json::object m{{"type", "open"}, {"id", 1}, {"path", "doc.txt"}};
    if (resume) m["version"] = *resume;
    client_->Send(m);
    auto d = client_->Expect("doc", 10s);
    if (!d) throw std::runtime_error("no doc");
    if (!(*d)["text"].is_null()) {
      auto u = workspace::Utf8ToUtf16(std::string((*d)["text"].as_string()));
      text_ = Text(*u);
      version_ = (*d)["version"].to_number<uint64_t>();
    } else if ((*d)["version"].to_number<uint64_t>() != version_) {
      throw std::runtime_error("resumed at a wrong version");
    }
    for (auto& m2 : client_->skipped()) Handle(m2);
    client_->skipped().clear();
  }

  void Reconnect() {
    client_->Close();
    client_.reset();
    pending_ = false;  // its fate shows in the updates we catch up on
    std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 20));
    Connect(version_);
  }

  size_t Boundary(size_t pos) {
    if (pos > 0 && pos < text_.size() && workspace::IsHighSurrogate(text_.At(pos - 1)) &&
        workspace::IsLowSurrogate(text_.At(pos)))
      return pos - 1;
    return pos;
  }

  void Push() {
    size_t len = text_.size();
    bool del = len > 0 && ((len > 300 && rng_() % 10 < 4) || rng_() % 10 == 0 || len > 4000);
    size_t from = Boundary(rng_() % (len + 1)), to = from;
    if (del) to = Boundary(std::min(len, from + 1 + rng_() % (rng_() % 5 == 0 ? 80 : 8)));
    if (to < from) to = from;
    std::string insert = del && rng_() % 2 ? "" : kPool[rng_() % std::size(kPool)];
    if (from == to && insert.empty()) return;
    // As CodeMirror does: line breaks (\r\n, \r, \n) split the inserted lines.
    json::array part{to - from};
    std::string line;
    for (size_t i = 0; i < insert.size(); ++i) {
      if (insert[i] == '\r' || insert[i] == '\n') {
        part.push_back(json::string(line));
        line.clear();
        if (insert[i] == '\r' && i + 1 < insert.size() && insert[i + 1] == '\n') ++i;
      } else {
        line += insert[i];
      }
    }
    if (!insert.empty()) part.push_back(json::string(line));
    json::array changes;
    if (from > 0) changes.push_back(from);
    changes.push_back(std::move(part));
    if (len > to) changes.push_back(len - to);
    json::object m{{"type", "push"}, {"id", 2}, {"path", "doc.txt"}, {"version", version_},
                   {"updates", json::array{json::object{{"clientID", client_id_}, {"changes", changes}}}}};
    client_->Send(m);
    pending_ = true;
    if (rng_() % 10 == 0) {
      json::object p{{"type", "presence"}, {"path", "doc.txt"}, {"version", version_},
                     {"ranges", json::array{json::object{{"anchor", from}, {"head", from}}}}};
      client_->Send(p);
    }
  }

  void Pump(std::chrono::milliseconds wait) {
    auto end = std::chrono::steady_clock::now() + wait;
    do {
      auto m = client_->Recv(std::max(1ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                                               end - std::chrono::steady_clock::now())));
      if (!m) {
        if (client_->closed()) throw std::runtime_error("connection closed: " + std::to_string(client_->close_code()));
        return;
      }
      json::object o = json::parse(*m).as_object();
      Handle(o);
    } while (std::chrono::steady_clock::now() < end);
  }

  void Handle(json::object& o) {
    auto type = o["type"].as_string();
    if (type == "updates") {
      uint64_t v = o["version"].to_number<uint64_t>();
      auto& ups = o["updates"].as_array();
      if (v > version_) throw std::runtime_error("gap in updates");
      for (size_t i = version_ - v; i < ups.size(); ++i) {
        auto& u = ups[i].as_object();
        auto cs = ChangeSet::FromJson(u["changes"]);
        if (!cs.ok()) throw std::runtime_error("bad update from server: " + cs.error().message);
        auto r = ApplyChangeSet(text_, *cs, SIZE_MAX);
        if (!r.ok()) throw std::runtime_error("update does not apply: " + r.error().message);
        ++version_;
        if (u["clientID"].as_string() == client_id_ && pending_) {
          pending_ = false;
          ++edits_;
        }
      }
    } else if (type == "pushed") {
      pending_ = false;  // accepted: counted with its update; refused: dropped
    } else if (type == "error") {
      throw std::runtime_error("server error: " + json::serialize(o));
    }
  }

  std::string sock_;
  std::mt19937 rng_;
  int quota_;
  std::string client_id_;
  std::unique_ptr<WsClient> client_;
  Text text_;
  uint64_t version_ = 0;
  bool pending_ = false;
  int edits_ = 0;
  std::atomic<bool> done_{false};
  std::string final_;
};

TEST(ConvergenceTest, EightClientsTenThousandEdits) {
  testing::TempDir tmp;
  std::string root = tmp.path() + "/root";
  std::filesystem::create_directories(root);
  WriteFile(root + "/doc.txt", "start\r\nsecond line\r\n");
  std::string sock = tmp.path() + "/ws.sock";
  ServerProcess server(root, sock, {"--save-delay-ms", "50"});

  const int kBeast = 4, kNode = 4, kEditsEach = 1250;
  std::string run = testing::SourceDir() + "/tests/workspace/node/run.sh";
  ASSERT_EQ(system((run + " --install").c_str()), 0);
  std::vector<std::unique_ptr<Child>> nodes;
  for (int i = 0; i < kNode; ++i) {
    nodes.push_back(std::make_unique<Child>(std::vector<std::string>{
        run, "collab_client.mjs", "--url", "ws+unix://" + sock + ":/ws", "--path", "doc.txt", "--edits",
        std::to_string(kEditsEach), "--seed", std::to_string(100 + i), "--reconnect", "0.003", "--max-delay-ms", "3"}));
  }
  std::atomic<uint64_t> target{0};
  std::atomic<bool> failed{false};
  std::vector<std::unique_ptr<BeastEditor>> beasts;
  std::vector<std::thread> threads;
  for (int i = 0; i < kBeast; ++i) beasts.push_back(std::make_unique<BeastEditor>(sock, 1 + i, kEditsEach));
  for (auto& b : beasts) threads.emplace_back([&, p = b.get()] { p->Run(&target, &failed); });

  // Node clients report done (quota reached, everything confirmed).
  int node_edits = 0;
  for (auto& n : nodes) {
    auto line = n->ReadLine();
    ASSERT_TRUE(line) << "a node client died";
    auto o = json::parse(*line).as_object();
    ASSERT_EQ(o["event"].as_string(), "done") << *line;
    node_edits += static_cast<int>(o["edits"].as_int64());
  }
  ASSERT_TRUE(WaitUntil([&] {
    for (auto& b : beasts)
      if (!b->done()) return false;
    return true;
  }, 120s));
  ASSERT_FALSE(failed.load());
  // Nobody edits any more: the server's state is final.
  WsClient observer(sock);
  observer.Send(R"({"type":"open","id":1,"path":"doc.txt"})");
  auto d = observer.Expect("doc", 10s);
  ASSERT_TRUE(d);
  std::string server_text(std::string((*d)["text"].as_string()));
  uint64_t version = (*d)["version"].to_number<uint64_t>();
  EXPECT_EQ((*d)["lineSep"].as_string(), "\r\n");
  target.store(version);
  for (auto& t : threads) t.join();
  int beast_edits = 0;
  for (auto& b : beasts) {
    EXPECT_EQ(b->version(), version);
    EXPECT_EQ(b->final_text(), server_text);
    beast_edits += b->edits();
  }
  for (auto& n : nodes) {
    n->WriteLine("report " + std::to_string(version));
    auto line = n->ReadLine();
    ASSERT_TRUE(line);
    auto o = json::parse(*line).as_object();
    ASSERT_EQ(o["event"].as_string(), "report");
    EXPECT_EQ(o["version"].as_int64(), static_cast<int64_t>(version));
    EXPECT_EQ(o["text"].as_string(), server_text);
    n->WriteLine("quit");
  }
  for (auto& n : nodes) n->Wait();
  EXPECT_GE(node_edits + beast_edits, 10000);
  std::cerr << "edits: node " << node_edits << ", beast " << beast_edits << "; accepted updates " << version
            << "; final length " << server_text.size() << " bytes\n";
  // The content has what the edits put in.
  EXPECT_NE(server_text.find("\xF0\x9F"), std::string::npos);  // an emoji survived
  observer.Close();
  // Every client has left: the document was saved, CRLF kept.
  std::string want;
  for (char c : server_text) {
    if (c == '\n') want += '\r';
    want += c;
  }
  EXPECT_TRUE(WaitUntil([&] { return ReadFile(root + "/doc.txt") == want; }, 5s));
}

}  // namespace
}  // namespace pg::wstest
