#include "common/http_client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <strings.h>

#include <charconv>
#include <optional>

namespace pg::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using Protocol = asio::generic::stream_protocol;
using Stream = beast::basic_stream<Protocol, asio::any_io_executor, beast::unlimited_rate_policy>;

asio::ssl::context& TlsContext() {
  static asio::ssl::context* ctx = [] {
    auto* c = new asio::ssl::context(asio::ssl::context::tls_client);
    c->set_default_verify_paths();
    c->set_verify_mode(asio::ssl::verify_peer);
    return c;
  }();
  return *ctx;
}

Error TransportError(const std::string& what, const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return Error::Make("timeout", what + ": timed out", 504);
  return Error::Make("unreachable", what + ": " + ec.message(), 502);
}

// Writes `req` and reads the response into `*out`. Named coroutine with
// by-value (pointer) parameters: g++ 12 mishandles capturing coroutine lambdas.
template <class S>
asio::awaitable<void> Exchange(S* stream, bhttp::request<bhttp::string_body>* req, Result<ClientResponse>* out,
                               std::string what, bool handshake) {
  if constexpr (!std::is_same_v<S, Stream>) {
    if (handshake) {
      auto [hec] = co_await stream->async_handshake(asio::ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
      if (hec) {
        *out = TransportError(what, hec);
        co_return;
      }
    }
  }
  auto [wec, wn] = co_await bhttp::async_write(*stream, *req, asio::as_tuple(asio::use_awaitable));
  (void)wn;
  if (wec) {
    *out = TransportError(what, wec);
    co_return;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(256ull << 20);
  if (req->method() == bhttp::verb::head) parser.skip(true);
  auto [rec, rn] = co_await bhttp::async_read(*stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  (void)rn;
  if (rec) {
    *out = TransportError(what, rec);
    co_return;
  }
  auto& res = parser.get();
  ClientResponse r;
  r.status = static_cast<int>(res.result_int());
  for (const auto& f : res) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  r.body = std::move(res.body());
  *out = std::move(r);
}

}  // namespace

Result<Url> Url::Parse(std::string_view url) {
  Url u;
  if (url.starts_with("unix:")) {
    std::string_view rest = url.substr(5);
    size_t sep = rest.find(":/");
    if (sep == std::string_view::npos) return Error::BadRequest("invalid_url", "unix URL needs :/path after the socket");
    u.endpoint = Endpoint::Unix(std::string(rest.substr(0, sep)));
    u.host_header = "localhost";
    u.target = std::string(rest.substr(sep + 1));
    return u;
  }
  uint16_t default_port = 80;
  if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else if (url.starts_with("https://")) {
    url.remove_prefix(8);
    u.tls = true;
    default_port = 443;
  } else {
    return Error::BadRequest("invalid_url", "unsupported URL scheme: " + std::string(url));
  }
  size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (u.target[0] == '?') u.target = "/" + u.target;
  std::string host(authority);
  uint16_t port = default_port;
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    std::string_view ps = authority.substr(colon + 1);
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), p);
    if (ec != std::errc() || ptr != ps.data() + ps.size() || p > 65535)
      return Error::BadRequest("invalid_url", "bad port in URL");
    port = static_cast<uint16_t>(p);
    host = std::string(authority.substr(0, colon));
  }
  if (host.empty()) return Error::BadRequest("invalid_url", "URL has no host");
  u.host_header = std::string(authority);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  u.endpoint = Endpoint::Tcp(host, port);
  return u;
}

std::string ClientResponse::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return "";
}

Result<ClientResponse> Fetch(const ClientRequest& creq) {
  PG_ASSIGN_OR_RETURN(Url url, Url::Parse(creq.url));
  asio::io_context io;
  bhttp::request<bhttp::string_body> req{creq.method, url.target, 11};
  req.set(bhttp::field::host, url.host_header);
  req.set(bhttp::field::user_agent, "playground");
  for (const auto& [k, v] : creq.headers) req.set(k, v);
  req.body() = creq.body;
  if (!creq.body.empty() || creq.method == bhttp::verb::post || creq.method == bhttp::verb::put ||
      creq.method == bhttp::verb::patch)
    req.prepare_payload();
  req.keep_alive(false);
  std::string what = std::string(bhttp::to_string(creq.method)) + " " + creq.url;

  PG_ASSIGN_OR_RETURN(auto ep, url.endpoint.Resolve());
  Stream stream(io);
  stream.expires_after(creq.timeout);
  boost::system::error_code ec;
  stream.socket().open(ep.protocol(), ec);
  if (ec) return TransportError(what, ec);
  // Blocking connect with the stream's deadline: use the async form and run.
  std::optional<boost::system::error_code> cec;
  stream.async_connect(ep, [&](boost::system::error_code e) { cec = e; });
  io.run();
  io.restart();
  if (!cec || *cec) return TransportError(what, cec ? *cec : asio::error::timed_out);

  // Run the exchange on the io_context so that the stream's deadline applies.
  Result<ClientResponse> result = Error::Internal("no response");
  if (!url.tls) {
    asio::co_spawn(io, Exchange(&stream, &req, &result, what, false), asio::detached);
    io.run();
    return result;
  }
  beast::ssl_stream<Stream&> tls(stream, TlsContext());
  std::string sni = url.endpoint.host;
  if (!SSL_set_tlsext_host_name(tls.native_handle(), sni.c_str()))
    return Error::Make("unreachable", what + ": cannot set SNI", 502);
  tls.set_verify_callback(asio::ssl::host_name_verification(sni));
  asio::co_spawn(io, Exchange(&tls, &req, &result, what, true), asio::detached);
  io.run();
  return result;
}

}  // namespace pg::http
