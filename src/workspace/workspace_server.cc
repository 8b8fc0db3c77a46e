#include "workspace/workspace_server.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/endpoint.h"
#include "common/fs.h"
#include "common/http_server.h"
#include "common/json.h"
#include "common/log.h"
#include "workspace/changeset.h"
#include "workspace/text.h"

namespace pg::workspace {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace bhttp = boost::beast::http;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;
using WsStream = websocket::stream<http::Stream&>;

constexpr size_t kMaxUpdatesPerPush = 100;
constexpr size_t kHistoryUpdates = 1000;
constexpr size_t kHistoryBytes = 8 << 20;
constexpr size_t kMaxSendQueueBytes = 64 << 20;
constexpr size_t kMaxDocsTotal = 4096;
constexpr size_t kMaxRanges = 100;

// ---------------------------------------------------------------- helpers

std::string Quote(std::string_view s) { return json::serialize(json::string(s)); }

std::string Base64Encode(std::string_view in) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += t[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += t[v >> 18];
    out += t[(v >> 12) & 63];
    out += t[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  while (!in.empty() && in.back() == '=') in.remove_suffix(1);
  if (in.size() % 4 == 1) return Error::BadRequest("invalid_value", "base64 has a bad length");
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) return Error::BadRequest("invalid_value", "base64 has an invalid character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

size_t HashBytes(std::string_view s) { return std::hash<std::string_view>{}(s) ^ (s.size() * 0x9E3779B97F4A7C15ULL); }

bool IsUnder(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

bool IsTempName(std::string_view name) {
  return name.size() > 5 && name[0] == '.' && name.find(".tmp-") != std::string_view::npos;
}

json::object EntryJson(const DirEntry& e) {
  json::object o;
  o["path"] = e.path;
  o["type"] = e.is_dir ? "dir" : "file";
  o["size"] = e.size;
  o["mtime"] = e.mtime_ms;
  return o;
}

std::optional<DirEntry> StatEntry(int root_fd, const std::string& rel) {
  auto fd = OpenBeneath(root_fd, rel, O_PATH | O_NOFOLLOW);
  if (!fd.ok()) return std::nullopt;
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return std::nullopt;
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) return std::nullopt;
  DirEntry e;
  e.path = rel;
  e.is_dir = S_ISDIR(st.st_mode);
  e.size = e.is_dir ? 0 : static_cast<uint64_t>(st.st_size);
  e.mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
  return e;
}

// Inode, size and mtime of a file: changes whenever its content is replaced.
struct FileIdentity {
  uint64_t ino = 0, size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};
std::optional<FileIdentity> IdentityOf(int root_fd, const std::string& rel) {
  auto fd = OpenBeneath(root_fd, rel, O_PATH | O_NOFOLLOW);
  if (!fd.ok()) return std::nullopt;
  struct stat st;
  if (fstat(fd->get(), &st) != 0) return std::nullopt;
  return FileIdentity{static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
                      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string ParentOf(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}
std::string BaseOf(const std::string& rel) {
  size_t slash = rel.rfind('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

// ---------------------------------------------------------------- state

struct Doc;

// One queued outgoing message: a complete text, or accepted updates of one
// document (consecutive ones are merged while the client is busy writing).
struct OutMsg {
  std::string text;
  std::string doc_path;
  uint64_t version = 0;
  std::vector<std::shared_ptr<const std::string>> updates;
  size_t bytes = 0;
};

struct Client {
  uint64_t id = 0;
  std::string name, color = "#888888";
  WsStream* ws = nullptr;
  std::deque<OutMsg> queue;
  size_t queued_bytes = 0;
  std::string current;
  bool writing = false;
  bool dead = false;        // nothing more is sent
  bool close_sent = false;
  std::optional<websocket::close_reason> close_after;
  std::unique_ptr<asio::steady_timer> kill_timer;
  std::map<std::string, Doc*> docs;
  double tokens = 0;
  Clock::time_point refilled;
};

struct Doc {
  std::string path;
  Text text;
  std::string line_sep = "\n";
  uint64_t version = 0;
  uint64_t history_base = 0;  // version before history.front()
  std::deque<std::shared_ptr<const std::string>> history;
  size_t history_bytes = 0;
  std::map<uint64_t, Client*> clients;
  std::map<uint64_t, std::string> presence;  // client → broadcast message
  bool dirty = false;
  bool save_scheduled = false;
  size_t disk_hash = 0;
  bool disk_known = false;  // disk_hash is the file's content hash
  std::optional<FileIdentity> disk_id;  // the file as last read or written
  std::unique_ptr<asio::steady_timer> save_timer;
};

std::string UpdatesText(const OutMsg& m) {
  std::string s = "{\"type\":\"updates\",\"path\":" + Quote(m.doc_path) + ",\"version\":" +
                  std::to_string(m.version) + ",\"updates\":[";
  for (size_t i = 0; i < m.updates.size(); ++i) {
    if (i) s += ',';
    s += *m.updates[i];
  }
  s += "]}";
  return s;
}

// ---------------------------------------------------------------- server

class WorkspaceServer {
 public:
  WorkspaceServer(asio::io_context& io, Options opts)
      : io_(io), opts_(std::move(opts)), http_(io.get_executor(), MakeHandler(), MakeHttpOptions()) {}

  Result<void> Start() {
    int fd = ::open(opts_.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Error::FromErrno("open root " + opts_.root, errno);
    root_fd_ = UniqueFd(fd);
    PG_ASSIGN_OR_RETURN(auto ep, Endpoint::Parse(opts_.listen));
    PG_ASSIGN_OR_RETURN(auto bound, http_.Listen(ep));
    StartWatcher();
    http_.Start();
    spdlog::info("workspace-server: serving {} on {}", opts_.root, bound.ToString());
    return Ok();
  }

  // SIGTERM: saves every document, closes every client with 1001.
  void Shutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    http_.Stop();
    for (auto& [p, d] : docs_)
      if (d->dirty) Save(d.get(), true);
    for (auto& [id, c] : clients_) CloseClient(c, websocket::close_code::going_away, "server shutting down");
    if (inotify_) inotify_->close();
  }

 private:
  http::ServerOptions MakeHttpOptions() {
    http::ServerOptions o;
    o.body_limit = opts_.max_file_bytes;
    o.server_name = "playground-workspace";
    return o;
  }

  http::Handler MakeHandler() {
    WorkspaceServer* self = this;
    return [self](http::Request& req, http::Stream& stream, beast::flat_buffer& buffer) {
      return HandleRequest(self, &req, &stream, &buffer);
    };
  }

  // -------------------------------------------------------------- HTTP
  static asio::awaitable<std::optional<http::Response>> HandleRequest(WorkspaceServer* self, http::Request* req,
                                                                      http::Stream* stream,
                                                                      beast::flat_buffer* buffer) {
    auto target = http::ParseTarget(req->target());
    if (!target.ok()) co_return http::ErrorResponse(*req, target.error());
    const std::string& path = target->path;
    if (path == "/ws") {
      if (!websocket::is_upgrade(*req))
        co_return http::ErrorResponse(*req, Error::BadRequest("upgrade_required", "GET /ws needs a WebSocket upgrade"));
      (void)buffer;
      co_await self->RunWebSocket(req, stream);
      co_return std::nullopt;
    }
    co_return self->Rest(*req, path);
  }

  http::Response Rest(const http::Request& req, const std::string& path) {
    if (path == "/healthz") return http::MakeResponse(req, bhttp::status::ok, "{\"ok\":true}");
    if (path.rfind("/files/", 0) != 0 && path != "/files")
      return http::ErrorResponse(req, Error::NotFound("no such endpoint: " + path));
    std::string rest = path.size() > 7 ? path.substr(7) : "";
    auto rel = NormalizeRelativePath(rest, true);
    if (!rel.ok()) return http::ErrorResponse(req, rel.error());
    auto method = req.method();
    if (rel->empty()) {
      if (method != bhttp::verb::get)
        return http::ErrorResponse(req, Error::Make("method_not_allowed", "only GET on /files/", 405));
      auto tree = TreeJson();
      if (!tree.ok()) return http::ErrorResponse(req, tree.error());
      return http::MakeResponse(req, bhttp::status::ok, "{\"entries\":" + *tree + "}");
    }
    if (method == bhttp::verb::get) {
      FlushDocsUnder(*rel);
      auto data = ReadFileBeneath(root_fd_.get(), *rel, opts_.max_file_bytes);
      if (!data.ok()) return http::ErrorResponse(req, data.error());
      return http::MakeResponse(req, bhttp::status::ok, std::move(*data), "application/octet-stream");
    }
    if (method == bhttp::verb::put) {
      auto r = WriteFile(*rel, req.body());
      if (!r.ok()) return http::ErrorResponse(req, r.error());
      return http::NoContent(req);
    }
    if (method == bhttp::verb::delete_) {
      auto r = DeletePath(*rel);
      if (!r.ok()) return http::ErrorResponse(req, r.error());
      return http::NoContent(req);
    }
    return http::ErrorResponse(req, Error::Make("method_not_allowed", "use GET, PUT or DELETE", 405));
  }

  Result<std::string> TreeJson() {
    PG_ASSIGN_OR_RETURN(auto entries, ListTreeBeneath(root_fd_.get(), ""));
    json::array arr;
    for (const auto& e : entries)
      if (!IsTempName(BaseOf(e.path))) arr.push_back(EntryJson(e));
    return json::serialize(arr);
  }

  // -------------------------------------------------------------- file ops
  // Upserts for `rel`, its missing-before ancestors and (for a directory) its
  // descendants.
  void AppendUpserts(const std::string& rel, json::array& changes, bool with_ancestors) {
    if (with_ancestors) {
      std::string parent = ParentOf(rel);
      std::vector<std::string> chain;
      while (!parent.empty()) {
        chain.push_back(parent);
        parent = ParentOf(parent);
      }
      for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        if (auto e = StatEntry(root_fd_.get(), *it))
          changes.push_back(json::object{{"op", "upsert"}, {"path", *it}, {"entry", EntryJson(*e)}});
      }
    }
    auto e = StatEntry(root_fd_.get(), rel);
    if (!e) {
      changes.push_back(json::object{{"op", "delete"}, {"path", rel}});
      return;
    }
    changes.push_back(json::object{{"op", "upsert"}, {"path", rel}, {"entry", EntryJson(*e)}});
    if (e->is_dir) {
      auto list = ListTreeBeneath(root_fd_.get(), rel, 10000);
      if (list.ok())
        for (const auto& d : *list)
          if (!IsTempName(BaseOf(d.path)))
            changes.push_back(json::object{{"op", "upsert"}, {"path", d.path}, {"entry", EntryJson(d)}});
    }
  }

  void BroadcastFs(json::array changes) {
    if (changes.empty()) return;
    json::object m{{"type", "fs"}, {"changes", std::move(changes)}};
    std::string text = json::serialize(m);
    for (auto& [id, c] : clients_) SendText(c, text);
  }

  Result<void> WriteFile(const std::string& rel, std::string_view data) {
    if (data.size() > opts_.max_file_bytes)
      return Error::Make("file_too_large", "file over " + std::to_string(opts_.max_file_bytes) + " bytes", 413);
    PG_RETURN_IF_ERROR(WriteFileBeneath(root_fd_.get(), rel, data));
    json::array changes;
    AppendUpserts(rel, changes, true);
    BroadcastFs(std::move(changes));
    SyncDocsUnder(rel);
    return Ok();
  }

  Result<void> CreatePath(const std::string& rel, bool dir, std::string_view data) {
    if (StatEntry(root_fd_.get(), rel)) return Error::Make("exists", rel + " already exists", 409);
    if (dir) {
      PG_RETURN_IF_ERROR(MakeDirsBeneath(root_fd_.get(), rel));
      json::array changes;
      AppendUpserts(rel, changes, true);
      BroadcastFs(std::move(changes));
      return Ok();
    }
    return WriteFile(rel, data);
  }

  Result<void> DeletePath(const std::string& rel) {
    PG_RETURN_IF_ERROR(RemoveAllBeneath(root_fd_.get(), rel));
    CloseDocsUnder(rel, "deleted", "");
    BroadcastFs(json::array{json::object{{"op", "delete"}, {"path", rel}}});
    return Ok();
  }

  Result<void> RenamePath(const std::string& from, const std::string& to) {
    if (from == to) return Ok();
    if (IsUnder(to, from)) return Error::BadRequest("invalid_path", "cannot move " + from + " into itself");
    if (!StatEntry(root_fd_.get(), from)) return Error::NotFound("no such file: " + from);
    if (StatEntry(root_fd_.get(), to)) return Error::Make("exists", to + " already exists", 409);
    FlushDocsUnder(from);
    std::string to_parent = ParentOf(to);
    if (!to_parent.empty()) PG_RETURN_IF_ERROR(MakeDirsBeneath(root_fd_.get(), to_parent));
    PG_ASSIGN_OR_RETURN(UniqueFd fdir, OpenBeneath(root_fd_.get(), ParentOf(from), O_RDONLY | O_DIRECTORY));
    PG_ASSIGN_OR_RETURN(UniqueFd tdir, OpenBeneath(root_fd_.get(), to_parent, O_RDONLY | O_DIRECTORY));
    if (renameat2(fdir.get(), BaseOf(from).c_str(), tdir.get(), BaseOf(to).c_str(), RENAME_NOREPLACE) != 0) {
      int err = errno;
      if (err == EEXIST) return Error::Make("exists", to + " already exists", 409);
      if (err == ENOENT) return Error::NotFound("no such file: " + from);
      return Error::FromErrno("rename " + from, err);
    }
    CloseDocsUnder(from, "renamed", to);
    json::array changes{json::object{{"op", "delete"}, {"path", from}}};
    AppendUpserts(to, changes, true);
    BroadcastFs(std::move(changes));
    return Ok();
  }

  // -------------------------------------------------------------- documents
  Result<Doc*> LoadDoc(const std::string& rel) {
    auto it = docs_.find(rel);
    if (it != docs_.end()) return it->second.get();
    if (docs_.size() >= kMaxDocsTotal) return Error::Make("too_many_documents", "the server has too many open documents", 429);
    auto doc = std::make_unique<Doc>();
    doc->path = rel;
    auto bytes = ReadFileBeneath(root_fd_.get(), rel, opts_.max_file_bytes);
    if (!bytes.ok()) {
      if (bytes.error().status != 404) {
        Error e = bytes.error();
        if (e.code == "file_too_large") e = Error::Make("doc_too_large", rel + " is over the document limit", 413);
        return e;
      }
      // A missing file: an empty document, created on the first save. Its
      // parent must be a directory beneath the root.
      auto parent = OpenBeneath(root_fd_.get(), ParentOf(rel), O_RDONLY | O_DIRECTORY);
      if (!parent.ok()) return parent.error();
    } else {
      std::string sep;
      PG_ASSIGN_OR_RETURN(std::u16string u, DecodeFileText(*bytes, &sep));
      doc->text = Text(u);
      doc->line_sep = sep;
      doc->disk_hash = HashBytes(*bytes);
      doc->disk_known = true;
      doc->disk_id = IdentityOf(root_fd_.get(), rel);
    }
    doc->save_timer = std::make_unique<asio::steady_timer>(io_);
    Doc* d = doc.get();
    docs_[rel] = std::move(doc);
    return d;
  }

  void Save(Doc* d, bool durable = false) {
    std::string bytes = d->text.ToUtf8(d->line_sep);
    auto r = WriteFileBeneath(root_fd_.get(), d->path, bytes, durable);
    if (!r.ok()) {
      spdlog::warn("saving {} failed: {}", d->path, r.error().message);
      return;  // stays dirty; retried on the next edit or close
    }
    d->disk_hash = HashBytes(bytes);
    d->disk_known = true;
    d->disk_id = IdentityOf(root_fd_.get(), d->path);
    d->dirty = false;
  }

  void MarkDirty(Doc* d) {
    d->dirty = true;
    if (d->save_scheduled) return;
    d->save_scheduled = true;
    d->save_timer->expires_after(std::chrono::milliseconds(opts_.save_delay_ms));
    d->save_timer->async_wait([this, d](boost::system::error_code ec) {
      if (ec) return;  // cancelled: the document is gone
      d->save_scheduled = false;
      if (d->dirty) Save(d);
    });
  }

  void FlushDocsUnder(const std::string& rel) {
    for (auto& [p, d] : docs_)
      if (IsUnder(p, rel) && d->dirty) Save(d.get());
  }

  // Appends accepted updates (serialized) and sends them to every client of
  // the document, in order.
  void AcceptUpdates(Doc* d, std::vector<std::shared_ptr<const std::string>> updates) {
    uint64_t start = d->version;
    for (auto& u : updates) {
      d->history.push_back(u);
      d->history_bytes += u->size();
    }
    d->version += updates.size();
    while (!d->history.empty() && (d->history.size() > kHistoryUpdates || d->history_bytes > kHistoryBytes)) {
      d->history_bytes -= d->history.front()->size();
      d->history.pop_front();
      ++d->history_base;
    }
    for (auto& [id, c] : d->clients) SendUpdates(c, d->path, start, updates);
    MarkDirty(d);
  }

  void DropDoc(Doc* d) {
    std::string path = d->path;
    if (d->save_timer) d->save_timer->cancel();
    docs_.erase(path);
  }

  // The document's file changed on disk: issue one server update (or close
  // the document when the file is gone or not text any more).
  void SyncDocFromDisk(Doc* d) {
    // Our own save (or an unchanged file): no need to read it again.
    if (d->disk_known && d->disk_id && IdentityOf(root_fd_.get(), d->path) == d->disk_id) return;
    auto bytes = ReadFileBeneath(root_fd_.get(), d->path, opts_.max_file_bytes);
    if (!bytes.ok()) {
      if (bytes.error().status == 404) {
        if (d->disk_known) CloseDoc(d, "deleted", "");
        return;
      }
      CloseDoc(d, bytes.error().code == "file_too_large" ? "too_large" : "unreadable", "");
      return;
    }
    size_t h = HashBytes(*bytes);
    if (d->disk_known && h == d->disk_hash) return;  // our own save, or no change
    std::string sep;
    auto u = DecodeFileText(*bytes, &sep);
    if (!u.ok()) {
      CloseDoc(d, "not_text", "");
      return;
    }
    d->line_sep = sep;
    std::u16string cur = d->text.ToU16();
    if (cur != *u) {
      ChangeSet cs = DiffTexts(cur, *u);
      auto applied = ApplyChangeSet(d->text, cs, SIZE_MAX);
      if (!applied.ok()) {  // cannot happen: DiffTexts is exact
        spdlog::error("disk sync of {} failed: {}", d->path, applied.error().message);
        return;
      }
      json::object upd{{"clientID", "server"}, {"changes", cs.ToJson()}};
      AcceptUpdates(d, {std::make_shared<const std::string>(json::serialize(upd))});
    }
    d->disk_hash = h;
    d->disk_known = true;
    d->disk_id = IdentityOf(root_fd_.get(), d->path);
    d->dirty = false;
  }

  void SyncDocsUnder(const std::string& rel) {
    std::vector<std::string> paths;
    for (auto& [p, d] : docs_)
      if (IsUnder(p, rel)) paths.push_back(p);
    for (auto& p : paths) {
      auto it = docs_.find(p);
      if (it != docs_.end()) SyncDocFromDisk(it->second.get());
    }
  }

  void CloseDoc(Doc* d, const std::string& reason, const std::string& to) {
    json::object m{{"type", "closed"}, {"path", d->path}, {"reason", reason}};
    if (!to.empty()) m["to"] = to;
    std::string text = json::serialize(m);
    for (auto& [id, c] : d->clients) {
      c->docs.erase(d->path);
      SendText(c, text);
    }
    d->clients.clear();
    DropDoc(d);
  }

  void CloseDocsUnder(const std::string& rel, const std::string& reason, const std::string& to) {
    std::vector<std::string> paths;
    for (auto& [p, d] : docs_)
      if (IsUnder(p, rel)) paths.push_back(p);
    for (auto& p : paths) {
      auto it = docs_.find(p);
      if (it == docs_.end()) continue;
      std::string dest = to.empty() ? "" : to + p.substr(rel.size());
      CloseDoc(it->second.get(), reason, dest);
    }
  }

  // A client leaves a document: presence dropped, saved when it was the last.
  void Leave(Client* c, Doc* d) {
    d->clients.erase(c->id);
    c->docs.erase(d->path);
    if (d->presence.erase(c->id)) {
      std::string left = "{\"type\":\"presence\",\"path\":" + Quote(d->path) + ",\"client\":" +
                         std::to_string(c->id) + ",\"left\":true}";
      for (auto& [id, o] : d->clients) SendText(o, left);
    }
    if (d->clients.empty()) {
      if (d->dirty) Save(d);
      DropDoc(d);
    }
  }

  // -------------------------------------------------------------- sending
  void SendText(Client* c, std::string text) {
    if (c->dead || c->close_after) return;
    OutMsg m;
    m.bytes = text.size();
    m.text = std::move(text);
    Enqueue(c, std::move(m));
  }

  void SendUpdates(Client* c, const std::string& path, uint64_t version,
                   const std::vector<std::shared_ptr<const std::string>>& updates) {
    if (c->dead || c->close_after) return;
    size_t bytes = 64 + path.size();
    for (auto& u : updates) bytes += u->size() + 1;
    if (!c->queue.empty()) {
      OutMsg& last = c->queue.back();
      if (!last.updates.empty() && last.doc_path == path && last.version + last.updates.size() == version) {
        last.updates.insert(last.updates.end(), updates.begin(), updates.end());
        last.bytes += bytes;
        c->queued_bytes += bytes;
        CheckQueue(c);
        return;
      }
    }
    OutMsg m;
    m.doc_path = path;
    m.version = version;
    m.updates = updates;
    m.bytes = bytes;
    Enqueue(c, std::move(m));
  }

  void Enqueue(Client* c, OutMsg m) {
    c->queued_bytes += m.bytes;
    c->queue.push_back(std::move(m));
    if (!CheckQueue(c)) return;
    if (!c->writing) Pump(c);
  }

  bool CheckQueue(Client* c) {
    if (c->queued_bytes <= kMaxSendQueueBytes) return true;
    spdlog::warn("client {} cannot keep up; closing it", c->id);
    c->queue.clear();
    c->queued_bytes = 0;
    CloseClient(c, websocket::close_code::try_again_later, "send queue overflow: reconnect");
    return false;
  }

  void CloseClient(Client* c, websocket::close_code code, std::string reason) {
    if (c->dead || c->close_after) return;
    c->close_after = websocket::close_reason(code, reason);
    // A peer that does not read cannot block the close for long.
    c->kill_timer = std::make_unique<asio::steady_timer>(io_, std::chrono::seconds(5));
    uint64_t id = c->id;
    c->kill_timer->async_wait([this, id](boost::system::error_code ec) {
      Client* cc = Lookup(id);
      if (ec || !cc || cc->dead) return;
      boost::system::error_code ignored;
      beast::get_lowest_layer(*cc->ws).socket().close(ignored);
    });
    if (!c->writing) Pump(c);
  }

  Client* Lookup(uint64_t id) {
    auto it = clients_.find(id);
    return it == clients_.end() ? nullptr : it->second;
  }

  void Pump(Client* c) {
    if (c->dead) {
      c->writing = false;
      return;
    }
    if (c->queue.empty()) {
      if (c->close_after && !c->close_sent) {
        c->close_sent = true;
        c->writing = true;
        uint64_t id = c->id;
        c->ws->async_close(*c->close_after, [this, id](boost::system::error_code) {
          if (Client* cc = Lookup(id)) cc->writing = false;
        });
        return;
      }
      c->writing = false;
      return;
    }
    OutMsg& m = c->queue.front();
    c->current = m.updates.empty() ? std::move(m.text) : UpdatesText(m);
    c->queued_bytes -= m.bytes;
    c->queue.pop_front();
    c->writing = true;
    c->ws->text(true);
    uint64_t id = c->id;
    c->ws->async_write(asio::buffer(c->current), [this, id](boost::system::error_code ec, size_t) {
      Client* cc = Lookup(id);
      if (!cc) return;
      if (ec) {
        cc->dead = true;
        cc->writing = false;
        return;
      }
      Pump(cc);
    });
  }

  void SendError(Client* c, const std::optional<int64_t>& id, const Error& e) {
    json::object m{{"type", "error"}, {"code", e.code}, {"message", e.message}};
    if (id) m["id"] = *id;
    SendText(c, json::serialize(m));
  }

  void SendOk(Client* c, const std::optional<int64_t>& id) {
    SendText(c, id ? "{\"type\":\"ok\",\"id\":" + std::to_string(*id) + "}" : "{\"type\":\"ok\"}");
  }

  // -------------------------------------------------------------- WebSocket
  asio::awaitable<void> RunWebSocket(http::Request* req, http::Stream* stream) {
    {
      // Small frames must not wait for Nagle (harmless failure on unix sockets).
      int one = 1;
      ::setsockopt(stream->socket().native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    WsStream ws(*stream);
    ws.read_message_max(opts_.max_message_bytes);
    websocket::stream_base::timeout t{};
    t.handshake_timeout = std::chrono::seconds(30);
    t.idle_timeout = std::chrono::seconds(60);
    t.keep_alive_pings = true;
    ws.set_option(t);
    ws.auto_fragment(false);
    ws.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(bhttp::field::server, "playground-workspace"); }));
    auto [aec] = co_await ws.async_accept(*req, asio::as_tuple(asio::use_awaitable));
    if (aec || shutting_down_) co_return;

    // Clients live in clients_ (owned there) while connected; the map holds
    // raw pointers to a Client owned by this frame.
    Client client;
    client.id = next_client_++;
    client.name = "user " + std::to_string(client.id);
    client.ws = &ws;
    client.tokens = opts_.rate_limit * 2;
    client.refilled = Clock::now();
    Client* c = &client;
    clients_[c->id] = c;
    SendText(c, Welcome(c));

    beast::flat_buffer buf;
    for (;;) {
      auto [ec, n] = co_await ws.async_read(buf, asio::as_tuple(asio::use_awaitable));
      (void)n;
      if (ec) break;
      if (c->dead) break;
      if (!ws.got_text()) {
        CloseClient(c, websocket::close_code::protocol_error, "binary frames are not part of the protocol");
      } else if (!c->close_after) {
        auto data = buf.data();
        std::string_view text(static_cast<const char*>(data.data()), data.size());
        OnMessage(c, text);
      }
      buf.consume(buf.size());
    }
    // Leave every document, then wait for the writer to finish.
    std::vector<Doc*> open;
    for (auto& [p, d] : c->docs) open.push_back(d);
    for (Doc* d : open) Leave(c, d);
    c->dead = true;
    c->queue.clear();
    if (c->writing) {
      boost::system::error_code ignored;
      beast::get_lowest_layer(ws).socket().close(ignored);
      asio::steady_timer wait(io_);
      while (c->writing) {
        wait.expires_after(std::chrono::milliseconds(2));
        co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
      }
    }
    if (c->kill_timer) c->kill_timer->cancel();
    clients_.erase(c->id);
    c->kill_timer.reset();
  }

  std::string Welcome(Client* c) {
    json::object limits{{"maxMessage", opts_.max_message_bytes},
                        {"maxFile", opts_.max_file_bytes},
                        {"maxDoc", opts_.max_file_bytes},
                        {"maxOpenDocs", opts_.max_open_docs},
                        {"maxUpdatesPerPush", kMaxUpdatesPerPush},
                        {"rateLimit", opts_.rate_limit}};
    return json::serialize(json::object{{"type", "welcome"}, {"client", c->id}, {"limits", std::move(limits)}});
  }

  bool TakeToken(Client* c) {
    auto now = Clock::now();
    double dt = std::chrono::duration<double>(now - c->refilled).count();
    c->refilled = now;
    double burst = opts_.rate_limit * 2;
    c->tokens = std::min(burst, c->tokens + dt * opts_.rate_limit);
    c->tokens -= 1;
    if (c->tokens >= 0) return true;
    if (c->tokens < -2 * burst) {
      CloseClient(c, websocket::close_code::policy_error, "rate limit exceeded");
      return false;
    }
    SendError(c, std::nullopt,
              Error::Make("rate_limited", "too many messages: the message was dropped", 429));
    return false;
  }

  void OnMessage(Client* c, std::string_view text) {
    if (!TakeToken(c)) return;
    auto parsed = ParseJsonObject(text, false);
    if (!parsed.ok()) {
      SendError(c, std::nullopt, parsed.error());
      return;
    }
    const json::object& obj = *parsed;
    JsonReader r(obj);
    std::optional<int64_t> id;
    auto idr = r.Int("id");
    if (!idr.ok()) {
      SendError(c, std::nullopt, idr.error());
      return;
    }
    id = *idr;
    auto type = r.String("type");
    if (!type.ok() || !*type) {
      SendError(c, id, type.ok() ? Error::BadRequest("invalid_value", "a message needs a \"type\"") : type.error());
      return;
    }
    Result<void> res = Dispatch(c, id, **type, obj);
    if (!res.ok()) SendError(c, id, res.error());
  }

  Result<std::string> PathField(const JsonReader& r, std::string_view key) {
    PG_ASSIGN_OR_RETURN(auto p, r.String(key));
    if (!p) return Error::BadRequest("invalid_value", "\"" + std::string(key) + "\" is required");
    return NormalizeRelativePath(*p);
  }

  Result<void> Dispatch(Client* c, const std::optional<int64_t>& id, const std::string& type,
                        const json::object& obj) {
    JsonReader r(obj);
    if (type == "push") return OnPush(c, id, obj);
    if (type == "presence") return OnPresence(c, obj);
    if (type == "open") return OnOpen(c, id, obj);
    if (type == "close") {
      PG_RETURN_IF_ERROR(r.Only({"type", "id", "path"}));
      PG_ASSIGN_OR_RETURN(std::string path, PathField(r, "path"));
      auto it = c->docs.find(path);
      if (it == c->docs.end()) return Error::BadRequest("not_open", path + " is not open");
      Leave(c, it->second);
      SendOk(c, id);
      return Ok();
    }
    if (type == "hello") {
      PG_RETURN_IF_ERROR(r.Only({"type", "id", "name", "color"}));
      PG_ASSIGN_OR_RETURN(auto name, r.String("name"));
      PG_ASSIGN_OR_RETURN(auto color, r.String("color"));
      if (name && (name->size() > 64 || name->empty())) return Error::BadRequest("invalid_value", "name: 1 to 64 bytes");
      if (color && (color->size() > 32 || color->empty())) return Error::BadRequest("invalid_value", "color: 1 to 32 bytes");
      if (name) c->name = *name;
      if (color) c->color = *color;
      // Re-broadcast stored presences with the new identity.
      for (auto& [p, d] : c->docs) {
        auto pit = d->presence.find(c->id);
        if (pit == d->presence.end()) continue;
        auto old = json::parse(pit->second).as_object();
        old["name"] = c->name;
        old["color"] = c->color;
        pit->second = json::serialize(old);
        for (auto& [oid, o] : d->clients)
          if (oid != c->id) SendText(o, pit->second);
      }
      SendOk(c, id);
      return Ok();
    }
    if (type == "list") {
      PG_RETURN_IF_ERROR(r.Only({"type", "id"}));
      PG_ASSIGN_OR_RETURN(std::string tree, TreeJson());
      SendText(c, "{\"type\":\"tree\"" + (id ? ",\"id\":" + std::to_string(*id) : std::string()) +
                      ",\"entries\":" + tree + "}");
      return Ok();
    }
    if (type == "read") {
      PG_RETURN_IF_ERROR(r.Only({"type", "id", "path"}));
      PG_ASSIGN_OR_RETURN(std::string path, PathField(r, "path"));
      FlushDocsUnder(path);
      PG_ASSIGN_OR_RETURN(std::string data, ReadFileBeneath(root_fd_.get(), path, opts_.max_file_bytes));
      json::object m{{"type", "file"}, {"path", path}, {"size", data.size()}, {"base64", Base64Encode(data)}};
      if (id) m["id"] = *id;
      SendText(c, json::serialize(m));
      return Ok();
    }
    if (type == "write" || type == "create") {
      bool create = type == "create";
      if (create)
        PG_RETURN_IF_ERROR(r.Only({"type", "id", "path", "kind", "text", "base64"}));
      else
        PG_RETURN_IF_ERROR(r.Only({"type", "id", "path", "text", "base64"}));
      PG_ASSIGN_OR_RETURN(std::string path, PathField(r, "path"));
      PG_ASSIGN_OR_RETURN(auto text, r.String("text"));
      PG_ASSIGN_OR_RETURN(auto b64, r.String("base64"));
      if (text && b64) return Error::BadRequest("invalid_value", "give \"text\" or \"base64\", not both");
      std::string data;
      if (b64) {
        PG_ASSIGN_OR_RETURN(data, Base64Decode(*b64));
      } else if (text) {
        data = std::move(*text);
      } else if (!create) {
        return Error::BadRequest("invalid_value", "\"text\" or \"base64\" is required");
      }
      if (create) {
        PG_ASSIGN_OR_RETURN(auto kind, r.String("kind"));
        std::string k = kind.value_or("file");
        if (k != "file" && k != "dir") return Error::BadRequest("invalid_value", "kind must be \"file\" or \"dir\"");
        if (k == "dir" && (text || b64)) return Error::BadRequest("invalid_value", "a directory has no content");
        PG_RETURN_IF_ERROR(CreatePath(path, k == "dir", data));
      } else {
        PG_RETURN_IF_ERROR(WriteFile(path, data));
      }
      SendOk(c, id);
      return Ok();
    }
    if (type == "rename") {
      PG_RETURN_IF_ERROR(r.Only({"type", "id", "from", "to"}));
      PG_ASSIGN_OR_RETURN(std::string from, PathField(r, "from"));
      PG_ASSIGN_OR_RETURN(std::string to, PathField(r, "to"));
      PG_RETURN_IF_ERROR(RenamePath(from, to));
      SendOk(c, id);
      return Ok();
    }
    if (type == "delete") {
      PG_RETURN_IF_ERROR(r.Only({"type", "id", "path"}));
      PG_ASSIGN_OR_RETURN(std::string path, PathField(r, "path"));
      PG_RETURN_IF_ERROR(DeletePath(path));
      SendOk(c, id);
      return Ok();
    }
    return Error::BadRequest("unknown_type", "unknown message type \"" + type + "\"");
  }

  Result<void> OnOpen(Client* c, const std::optional<int64_t>& id, const json::object& obj) {
    JsonReader r(obj);
    PG_RETURN_IF_ERROR(r.Only({"type", "id", "path", "version"}));
    PG_ASSIGN_OR_RETURN(std::string path, PathField(r, "path"));
    PG_ASSIGN_OR_RETURN(auto version, r.Int("version", 0));
    Doc* d;
    auto it = c->docs.find(path);
    if (it != c->docs.end()) {
      d = it->second;
    } else {
      if (c->docs.size() >= opts_.max_open_docs)
        return Error::Make("too_many_documents",
                           "at most " + std::to_string(opts_.max_open_docs) + " open documents per client", 429);
      PG_ASSIGN_OR_RETURN(d, LoadDoc(path));
      d->clients[c->id] = c;
      c->docs[path] = d;
    }
    std::string head = "{\"type\":\"doc\"" + (id ? ",\"id\":" + std::to_string(*id) : std::string()) +
                       ",\"path\":" + Quote(path) + ",\"lineSep\":" + Quote(d->line_sep) + ",\"version\":";
    if (version && static_cast<uint64_t>(*version) <= d->version &&
        static_cast<uint64_t>(*version) >= d->history_base) {
      uint64_t v = static_cast<uint64_t>(*version);
      SendText(c, head + std::to_string(v) + ",\"text\":null}");
      if (v < d->version) {
        std::vector<std::shared_ptr<const std::string>> missing(d->history.begin() + (v - d->history_base),
                                                                d->history.end());
        SendUpdates(c, path, v, missing);
      }
    } else {
      std::string text = d->text.ToUtf8();
      SendText(c, head + std::to_string(d->version) + ",\"text\":" + Quote(text) + "}");
    }
    for (auto& [oid, p] : d->presence)
      if (oid != c->id) SendText(c, p);
    return Ok();
  }

  Result<void> OnPush(Client* c, const std::optional<int64_t>& id, const json::object& obj) {
    JsonReader r(obj);
    PG_RETURN_IF_ERROR(r.Only({"type", "id", "path", "version", "updates"}));
    PG_ASSIGN_OR_RETURN(std::string path, PathField(r, "path"));
    auto it = c->docs.find(path);
    if (it == c->docs.end()) return Error::BadRequest("not_open", path + " is not open");
    Doc* d = it->second;
    PG_ASSIGN_OR_RETURN(auto version, r.Int("version", 0));
    if (!version) return Error::BadRequest("invalid_value", "\"version\" is required");
    auto up = obj.find("updates");
    if (up == obj.end() || !up->value().is_array())
      return Error::BadRequest("invalid_type", "\"updates\" must be an array");
    const auto& arr = up->value().get_array();
    if (arr.size() > kMaxUpdatesPerPush)
      return Error::BadRequest("invalid_value", "at most " + std::to_string(kMaxUpdatesPerPush) + " updates per push");
    if (shutting_down_) return Error::Make("shutting_down", "the server is shutting down", 503);
    if (static_cast<uint64_t>(*version) > d->version)
      return Error::BadRequest("bad_version", "version " + std::to_string(*version) + " is ahead of the document (" +
                                                  std::to_string(d->version) + ")");
    // Parse everything first.
    std::vector<ChangeSet> sets;
    std::vector<std::shared_ptr<const std::string>> texts;
    for (size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_object()) return Error::BadRequest("invalid_type", "updates[" + std::to_string(i) + "] must be an object");
      const auto& u = arr[i].get_object();
      JsonReader ur(u, "updates[" + std::to_string(i) + "]");
      PG_RETURN_IF_ERROR(ur.Only({"clientID", "changes"}));
      PG_ASSIGN_OR_RETURN(auto cid, ur.String("clientID"));
      if (!cid || cid->empty() || cid->size() > 64)
        return Error::BadRequest("invalid_value", ur.Name("clientID") + " must be a string of 1 to 64 bytes");
      auto ch = u.find("changes");
      if (ch == u.end()) return Error::BadRequest("invalid_value", ur.Name("changes") + " is required");
      PG_ASSIGN_OR_RETURN(ChangeSet cs, ChangeSet::FromJson(ch->value()));
      sets.push_back(std::move(cs));
      json::object canon{{"clientID", *cid}, {"changes", ch->value()}};
      texts.push_back(std::make_shared<const std::string>(json::serialize(canon)));
    }
    if (static_cast<uint64_t>(*version) < d->version) {
      SendText(c, PushedText(id, path, false, d->version));
      return Ok();
    }
    std::vector<AppliedChange> applied;
    for (size_t i = 0; i < sets.size(); ++i) {
      auto a = ApplyChangeSet(d->text, sets[i], opts_.max_file_bytes);
      if (!a.ok()) {
        for (auto rit = applied.rbegin(); rit != applied.rend(); ++rit) UndoChange(d->text, *rit);
        Error e = a.error();
        e.message = "updates[" + std::to_string(i) + "]: " + e.message;
        return e;
      }
      applied.push_back(std::move(*a));
    }
    if (!texts.empty()) AcceptUpdates(d, std::move(texts));
    SendText(c, PushedText(id, path, true, d->version));
    return Ok();
  }

  static std::string PushedText(const std::optional<int64_t>& id, const std::string& path, bool accepted,
                                uint64_t version) {
    return "{\"type\":\"pushed\"" + (id ? ",\"id\":" + std::to_string(*id) : std::string()) + ",\"path\":" +
           Quote(path) + ",\"accepted\":" + (accepted ? "true" : "false") + ",\"version\":" + std::to_string(version) +
           "}";
  }

  Result<void> OnPresence(Client* c, const json::object& obj) {
    JsonReader r(obj);
    PG_RETURN_IF_ERROR(r.Only({"type", "id", "path", "version", "ranges"}));
    PG_ASSIGN_OR_RETURN(std::string path, PathField(r, "path"));
    auto it = c->docs.find(path);
    if (it == c->docs.end()) return Error::BadRequest("not_open", path + " is not open");
    Doc* d = it->second;
    PG_ASSIGN_OR_RETURN(auto version, r.Int("version", 0));
    auto rg = obj.find("ranges");
    if (rg == obj.end() || !rg->value().is_array())
      return Error::BadRequest("invalid_type", "\"ranges\" must be an array");
    const auto& arr = rg->value().get_array();
    if (arr.size() > kMaxRanges) return Error::BadRequest("invalid_value", "at most 100 ranges");
    json::array ranges;
    for (size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_object()) return Error::BadRequest("invalid_type", "ranges[" + std::to_string(i) + "] must be an object");
      JsonReader rr(arr[i].get_object(), "ranges[" + std::to_string(i) + "]");
      PG_RETURN_IF_ERROR(rr.Only({"anchor", "head"}));
      PG_ASSIGN_OR_RETURN(auto anchor, rr.Int("anchor", 0, 1LL << 40));
      PG_ASSIGN_OR_RETURN(auto head, rr.Int("head", 0, 1LL << 40));
      if (!anchor || !head) return Error::BadRequest("invalid_value", rr.Name("anchor") + " and head are required");
      ranges.push_back(json::object{{"anchor", *anchor}, {"head", *head}});
    }
    json::object m{{"type", "presence"}, {"path", path},     {"client", c->id},
                   {"name", c->name},    {"color", c->color}, {"version", version.value_or(d->version)},
                   {"ranges", std::move(ranges)}};
    std::string text = json::serialize(m);
    for (auto& [oid, o] : d->clients)
      if (oid != c->id) SendText(o, text);
    d->presence[c->id] = std::move(text);
    return Ok();
  }

  // -------------------------------------------------------------- inotify
  void StartWatcher() {
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      spdlog::warn("inotify unavailable: {}", strerror(errno));
      return;
    }
    inotify_ = std::make_unique<asio::posix::stream_descriptor>(io_, fd);
    flush_timer_ = std::make_unique<asio::steady_timer>(io_);
    AddWatchTree("");
    ReadEvents();
  }

  void AddWatch(const std::string& rel) {
    if (wd_of_.count(rel) || wd_of_.size() >= 8192) return;
    std::string abs = rel.empty() ? opts_.root : opts_.root + "/" + rel;
    int wd = inotify_add_watch(inotify_->native_handle(), abs.c_str(),
                               IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY |
                                   IN_ATTRIB | IN_DONT_FOLLOW | IN_ONLYDIR | IN_EXCL_UNLINK);
    if (wd < 0) return;
    dir_of_[wd] = rel;
    wd_of_[rel] = wd;
  }

  void AddWatchTree(const std::string& rel) {
    AddWatch(rel);
    auto list = ListTreeBeneath(root_fd_.get(), rel, 20000);
    if (!list.ok()) return;
    for (const auto& e : *list)
      if (e.is_dir) AddWatch(e.path);
  }

  void RemoveWatchTree(const std::string& rel) {
    std::vector<std::string> gone;
    for (auto& [p, wd] : wd_of_)
      if (IsUnder(p, rel)) gone.push_back(p);
    for (auto& p : gone) {
      int wd = wd_of_[p];
      inotify_rm_watch(inotify_->native_handle(), wd);
      dir_of_.erase(wd);
      wd_of_.erase(p);
    }
  }

  void ReadEvents() {
    inotify_->async_read_some(asio::buffer(ev_buf_), [this](boost::system::error_code ec, size_t n) {
      if (ec) return;
      size_t off = 0;
      while (off + sizeof(inotify_event) <= n) {
        auto* ev = reinterpret_cast<const inotify_event*>(ev_buf_.data() + off);
        off += sizeof(inotify_event) + ev->len;
        if (ev->mask & IN_Q_OVERFLOW) {
          rescan_all_ = true;
          continue;
        }
        auto it = dir_of_.find(ev->wd);
        if (it == dir_of_.end()) continue;
        if (ev->mask & IN_IGNORED) {
          wd_of_.erase(it->second);
          dir_of_.erase(it);
          continue;
        }
        if (ev->len == 0) continue;
        std::string name(ev->name);
        if (IsTempName(name)) continue;
        std::string rel = it->second.empty() ? name : it->second + "/" + name;
        if (ev->mask & IN_ISDIR) {
          if (ev->mask & (IN_CREATE | IN_MOVED_TO)) AddWatchTree(rel);
          if (ev->mask & (IN_MOVED_FROM | IN_DELETE)) RemoveWatchTree(rel);
        }
        pending_.insert(rel);
      }
      if ((!pending_.empty() || rescan_all_) && !flush_scheduled_) {
        flush_scheduled_ = true;
        flush_timer_->expires_after(std::chrono::milliseconds(50));
        flush_timer_->async_wait([this](boost::system::error_code e) {
          flush_scheduled_ = false;
          if (!e) FlushEvents();
        });
      }
      ReadEvents();
    });
  }

  void FlushEvents() {
    std::set<std::string> paths;
    paths.swap(pending_);
    json::array changes;
    if (rescan_all_) {
      rescan_all_ = false;
      paths.clear();
      auto list = ListTreeBeneath(root_fd_.get(), "");
      if (list.ok())
        for (const auto& e : *list) changes.push_back(json::object{{"op", "upsert"}, {"path", e.path}, {"entry", EntryJson(e)}});
      SyncDocsUnder("");
      BroadcastFs(std::move(changes));
      return;
    }
    // A path under another pending directory is covered by its listing.
    std::string last;
    for (const auto& p : paths) {
      if (!last.empty() && IsUnder(p, last)) continue;
      AppendUpserts(p, changes, false);
      last = p;
    }
    BroadcastFs(std::move(changes));
    for (const auto& p : paths) SyncDocsUnder(p);
  }

  asio::io_context& io_;
  Options opts_;
  http::Server http_;
  UniqueFd root_fd_;
  bool shutting_down_ = false;
  uint64_t next_client_ = 1;
  std::map<uint64_t, Client*> clients_;
  std::map<std::string, std::unique_ptr<Doc>> docs_;

  std::unique_ptr<asio::posix::stream_descriptor> inotify_;
  std::unique_ptr<asio::steady_timer> flush_timer_;
  alignas(inotify_event) std::array<char, 64 * 1024> ev_buf_{};
  std::map<int, std::string> dir_of_;
  std::map<std::string, int> wd_of_;
  std::set<std::string> pending_;
  bool flush_scheduled_ = false;
  bool rescan_all_ = false;
};

}  // namespace

int ServerMain(const Options& options) {
  InitLogging("workspace", options.log_level);
  ::signal(SIGPIPE, SIG_IGN);
  asio::io_context io(1);
  WorkspaceServer server(io, options);
  auto started = server.Start();
  if (!started.ok()) {
    spdlog::error("workspace-server: {}", started.error().message);
    return 1;
  }
  asio::signal_set signals(io, SIGTERM, SIGINT);
  asio::steady_timer stop_timer(io);
  signals.async_wait([&](boost::system::error_code ec, int sig) {
    if (ec) return;
    spdlog::info("workspace-server: signal {}, saving and stopping", sig);
    server.Shutdown();
    stop_timer.expires_after(std::chrono::milliseconds(300));
    stop_timer.async_wait([&](boost::system::error_code) { io.stop(); });
  });
  io.run();
  return 0;
}

}  // namespace pg::workspace
