// Where a server listens or a client connects: a unix socket or TCP.
#pragma once

#include <boost/asio/generic/stream_protocol.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace pg {

struct Endpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kTcp;
  std::string path;  // kUnix
  std::string host;  // kTcp: an IP address or a name
  uint16_t port = 0;  // kTcp

  static Endpoint Unix(std::string path) { return Endpoint{Kind::kUnix, std::move(path), "", 0}; }
  static Endpoint Tcp(std::string host, uint16_t port) { return Endpoint{Kind::kTcp, "", std::move(host), port}; }

  // Accepts "unix:PATH", "tcp:HOST:PORT", "HOST:PORT", "[V6]:PORT" and ":PORT".
  static Result<Endpoint> Parse(std::string_view spec);
  // "unix:PATH" or "tcp:HOST:PORT".
  std::string ToString() const;
  // "HOST:PORT" for TCP ("localhost" for unix), for Host headers and URLs.
  std::string Authority() const;

  // Resolves to an address Asio can connect or bind to. TCP names are
  // resolved synchronously (call off the hot path).
  Result<boost::asio::generic::stream_protocol::endpoint> Resolve() const;

  bool operator==(const Endpoint&) const = default;
};

}  // namespace pg
