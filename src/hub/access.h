// Access control helpers of the hub: token-bucket rate limits and the
// registry of open proxied connections per token (so that revoking a token
// closes them at once).
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace pg::hub {

struct RateSpec {
  double per_second = 0;  // 0 disables the limit
  double burst = 0;
};
// Parses "RATE:BURST" or "RATE" (burst = 2 × rate), "0" = off. False on error.
bool ParseRateSpec(const std::string& s, RateSpec* out);

// Token buckets keyed by string (client address, token hash). Thread-safe.
// Memory is bounded: idle full buckets are dropped when the map grows.
class RateLimiter {
 public:
  explicit RateLimiter(RateSpec spec) : spec_(spec) {}
  // Takes one token from `key`'s bucket. Returns 0 when allowed, else the
  // number of seconds (>= 1) after which a retry may succeed.
  int Take(const std::string& key);
  bool enabled() const { return spec_.per_second > 0; }

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point at;
  };
  RateSpec spec_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

// Open connections (WebSocket pipes, in-flight proxied requests) by the hash
// of the token that opened them. Each registers a timer that never expires
// on its own; Revoke cancels the timers of a token, which closes those
// connections. Thread-safe.
class Connections {
 public:
  using Timer = boost::asio::steady_timer;
  // Registers `timer` (set to expire at time_point::max) under `token_hash`;
  // returns a handle for Remove. An empty hash (admin token) is not tracked
  // and returns 0.
  uint64_t Add(const std::string& token_hash, std::shared_ptr<Timer> timer);
  void Remove(uint64_t handle);
  // Closes every connection opened with `token_hash`; returns how many.
  size_t Revoke(const std::string& token_hash);
  size_t size() const;

 private:
  struct Entry {
    std::string hash;
    std::shared_ptr<Timer> timer;
  };
  mutable std::mutex mu_;
  uint64_t next_ = 1;
  std::unordered_map<uint64_t, Entry> by_handle_;
  std::unordered_multimap<std::string, uint64_t> by_hash_;
};

// RAII registration in Connections.
class ConnectionGuard {
 public:
  ConnectionGuard(Connections* c, const std::string& hash, std::shared_ptr<Connections::Timer> t)
      : c_(c), h_(c->Add(hash, std::move(t))) {}
  ~ConnectionGuard() { c_->Remove(h_); }
  ConnectionGuard(const ConnectionGuard&) = delete;
  ConnectionGuard& operator=(const ConnectionGuard&) = delete;

 private:
  Connections* c_;
  uint64_t h_;
};

}  // namespace pg::hub
