#include "common/http_server.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cctype>
#include <cstring>
#include <unistd.h>

#include "common/json.h"

namespace pg::http {
namespace {

struct ConnCount {
  std::shared_ptr<size_t> n;
  explicit ConnCount(std::shared_ptr<size_t> c) : n(std::move(c)) { ++*n; }
  ~ConnCount() { --*n; }
};

asio::awaitable<void> Session(Socket socket, std::shared_ptr<Handler> handler, ServerOptions options,
                              std::shared_ptr<size_t> open) {
  ConnCount count(open);
  Stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options.body_limit);
    parser.header_limit(64 * 1024);
    stream.expires_after(buffer.size() > 0 ? options.header_timeout : options.idle_timeout);
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    (void)n;
    if (ec == bhttp::error::body_limit) {
      Request req = parser.release();
      Response res = ErrorResponse(req, Error::Make("body_too_large", "request body exceeds " +
                                                                          std::to_string(options.body_limit) + " bytes",
                                                    413));
      res.keep_alive(false);
      stream.expires_after(std::chrono::seconds(10));
      co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
      break;
    }
    if (ec) {
      if (ec != bhttp::error::end_of_stream && ec != asio::error::eof && ec != beast::error::timeout &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted && !parser.is_header_done()) {
        // Garbage on the wire: answer 400 once, then close.
        if (buffer.size() > 0 || ec == bhttp::error::bad_method || ec == bhttp::error::bad_target ||
            ec == bhttp::error::bad_version || ec == bhttp::error::bad_field || ec == bhttp::error::bad_value) {
          Response res{bhttp::status::bad_request, 11};
          res.set(bhttp::field::content_type, "application/json");
          res.body() = ErrorJson(Error::BadRequest("bad_request", "malformed HTTP request: " + ec.message()));
          res.prepare_payload();
          res.keep_alive(false);
          stream.expires_after(std::chrono::seconds(5));
          co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
        }
      }
      break;
    }
    stream.expires_never();
    Request req = parser.release();
    std::optional<Response> res;
    try {
      res = co_await (*handler)(req, stream, buffer);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} threw: {}", std::string(req.method_string()), std::string(req.target()),
                    e.what());
      res = ErrorResponse(req, Error::Internal("internal error"));
      res->keep_alive(false);
    }
    if (!res) co_return;  // the handler took the connection over
    if (res->find(bhttp::field::server) == res->end()) res->set(bhttp::field::server, options.server_name);
    bool keep = res->keep_alive();
    stream.expires_after(std::chrono::seconds(60));
    auto [wec, wn] = co_await bhttp::async_write(stream, *res, asio::as_tuple(asio::use_awaitable));
    (void)wn;
    if (wec || !keep) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(Socket::shutdown_send, ignored);
  stream.socket().close(ignored);
}

asio::awaitable<void> AcceptLoop(Acceptor* acceptor, std::shared_ptr<Handler> handler,
                                 ServerOptions options, std::shared_ptr<size_t> open) {
  for (;;) {
    auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
    if (ec) {
      if (ec == asio::error::no_descriptors) {
        asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      continue;
    }
    asio::co_spawn(acceptor->get_executor(), Session(std::move(socket), handler, options, open), asio::detached);
  }
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Server::Server(asio::any_io_executor ex, Handler handler, ServerOptions options)
    : ex_(std::move(ex)), handler_(std::make_shared<Handler>(std::move(handler))), options_(std::move(options)) {}

Server::~Server() {
  Stop();
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
}

Result<Endpoint> Server::Listen(const Endpoint& where) {
  PG_ASSIGN_OR_RETURN(auto ep, where.Resolve());
  boost::system::error_code ec;
  auto acceptor = std::make_unique<Acceptor>(ex_);
  if (where.kind == Endpoint::Kind::kUnix) {
    struct stat st;
    if (::lstat(where.path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(where.path.c_str());
  }
  acceptor->open(ep.protocol(), ec);
  if (ec) return Error::Make("listen_failed", "open " + where.ToString() + ": " + ec.message());
  if (where.kind == Endpoint::Kind::kTcp) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  acceptor->bind(ep, ec);
  if (ec) return Error::Make("listen_failed", "bind " + where.ToString() + ": " + ec.message());
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error::Make("listen_failed", "listen " + where.ToString() + ": " + ec.message());
  Endpoint bound = where;
  if (where.kind == Endpoint::Kind::kTcp) {
    auto local = acceptor->local_endpoint();
    asio::ip::tcp::endpoint tcp_ep;
    std::memcpy(tcp_ep.data(), local.data(), std::min<size_t>(local.size(), sizeof(sockaddr_in6)));
    bound.port = tcp_ep.port();
  } else {
    unix_path_ = where.path;
  }
  acceptor_ = std::move(acceptor);
  return bound;
}

void Server::Start() { asio::co_spawn(ex_, AcceptLoop(acceptor_.get(), handler_, options_, open_), asio::detached); }

void Server::Stop() {
  if (acceptor_ && acceptor_->is_open()) {
    boost::system::error_code ec;
    acceptor_->close(ec);
  }
}

Response MakeResponse(const Request& req, bhttp::status status, std::string body, std::string_view content_type) {
  Response res{status, req.version()};
  if (!content_type.empty()) res.set(bhttp::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response ErrorResponse(const Request& req, const Error& e) {
  int status = e.status ? e.status : 500;
  return MakeResponse(req, static_cast<bhttp::status>(status), ErrorJson(e));
}

Response NoContent(const Request& req) {
  Response res{bhttp::status::no_content, req.version()};
  res.keep_alive(req.keep_alive());
  return res;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return Error::BadRequest("bad_request", "bad percent-encoding");
      int hi = HexVal(s[i + 1]), lo = HexVal(s[i + 2]);
      if (hi < 0 || lo < 0) return Error::BadRequest("bad_request", "bad percent-encoding");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back('+');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string PercentEncodePath(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<Target> ParseTarget(std::string_view target) {
  Target t;
  size_t q = target.find('?');
  t.raw_path = std::string(target.substr(0, q));
  PG_ASSIGN_OR_RETURN(t.path, PercentDecode(t.raw_path));
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      size_t eq = pair.find('=');
      std::string key_raw(pair.substr(0, eq));
      std::string val_raw(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
      for (auto& c : val_raw) if (c == '+') c = ' ';
      PG_ASSIGN_OR_RETURN(std::string key, PercentDecode(key_raw));
      PG_ASSIGN_OR_RETURN(std::string val, PercentDecode(val_raw));
      if (!key.empty()) t.query.emplace_back(std::move(key), std::move(val));
      if (amp == std::string_view::npos) break;
      rest = rest.substr(amp + 1);
    }
  }
  return t;
}

std::optional<std::string> Target::Query(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return v;
  }
  return std::nullopt;
}

}  // namespace pg::http
