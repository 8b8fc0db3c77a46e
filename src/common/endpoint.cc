#include "common/endpoint.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>

#include <charconv>

namespace pg {

namespace asio = boost::asio;

Result<Endpoint> Endpoint::Parse(std::string_view spec) {
  if (spec.starts_with("unix:")) {
    std::string path(spec.substr(5));
    if (path.empty()) return Error::BadRequest("invalid_endpoint", "unix: needs a path");
    if (path.size() >= 108) return Error::BadRequest("invalid_endpoint", "unix socket path too long: " + path);
    return Unix(path);
  }
  if (spec.starts_with("tcp:")) spec.remove_prefix(4);
  size_t colon = spec.rfind(':');
  if (colon == std::string_view::npos) return Error::BadRequest("invalid_endpoint", "expected HOST:PORT, got " + std::string(spec));
  std::string_view host = spec.substr(0, colon);
  std::string_view port_s = spec.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
  if (ec != std::errc() || p != port_s.data() + port_s.size() || port > 65535)
    return Error::BadRequest("invalid_endpoint", "bad port in " + std::string(spec));
  return Tcp(host.empty() ? "0.0.0.0" : std::string(host), static_cast<uint16_t>(port));
}

std::string Endpoint::ToString() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  return "tcp:" + Authority();
}

std::string Endpoint::Authority() const {
  if (kind == Kind::kUnix) return "localhost";
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<asio::generic::stream_protocol::endpoint> Endpoint::Resolve() const {
  if (kind == Kind::kUnix) return asio::generic::stream_protocol::endpoint(asio::local::stream_protocol::endpoint(path));
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (!ec) return asio::generic::stream_protocol::endpoint(asio::ip::tcp::endpoint(addr, port));
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec || results.empty()) return Error::Make("unreachable", "cannot resolve " + host + ": " + ec.message(), 502);
  return asio::generic::stream_protocol::endpoint(results.begin()->endpoint());
}

}  // namespace pg
