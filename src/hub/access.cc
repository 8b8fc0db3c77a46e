#include "hub/access.h"

#include <cmath>
#include <cstdlib>

namespace pg::hub {

bool ParseRateSpec(const std::string& s, RateSpec* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  double rate = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || rate < 0 || !std::isfinite(rate)) return false;
  double burst = rate * 2;
  if (*end == ':') {
    const char* b = end + 1;
    burst = std::strtod(b, &end);
    if (end == b || burst < 1 || !std::isfinite(burst)) return false;
  }
  if (*end != '\0') return false;
  if (rate > 0 && burst < 1) burst = 1;
  *out = RateSpec{rate, burst};
  return true;
}

int RateLimiter::Take(const std::string& key) {
  if (spec_.per_second <= 0) return 0;
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  if (buckets_.size() > 100000) {
    // Drop buckets that have refilled: they carry no state.
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      double secs = std::chrono::duration<double>(now - it->second.at).count();
      if (it->second.tokens + secs * spec_.per_second >= spec_.burst) {
        it = buckets_.erase(it);
      } else {
        ++it;
      }
    }
  }
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{spec_.burst, now});
  Bucket& b = it->second;
  if (!inserted) {
    double secs = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(spec_.burst, b.tokens + secs * spec_.per_second);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / spec_.per_second)));
}

uint64_t Connections::Add(const std::string& token_hash, std::shared_ptr<Timer> timer) {
  if (token_hash.empty()) return 0;
  std::lock_guard lock(mu_);
  uint64_t h = next_++;
  by_handle_.emplace(h, Entry{token_hash, std::move(timer)});
  by_hash_.emplace(token_hash, h);
  return h;
}

void Connections::Remove(uint64_t handle) {
  if (handle == 0) return;
  std::lock_guard lock(mu_);
  auto it = by_handle_.find(handle);
  if (it == by_handle_.end()) return;
  auto range = by_hash_.equal_range(it->second.hash);
  for (auto r = range.first; r != range.second; ++r) {
    if (r->second == handle) {
      by_hash_.erase(r);
      break;
    }
  }
  by_handle_.erase(it);
}

size_t Connections::Revoke(const std::string& token_hash) {
  std::vector<std::shared_ptr<Timer>> timers;
  {
    std::lock_guard lock(mu_);
    auto range = by_hash_.equal_range(token_hash);
    for (auto r = range.first; r != range.second; ++r) timers.push_back(by_handle_.at(r->second).timer);
  }
  // Timers belong to the io thread; cancel there.
  // expires_at(min) aborts a pending wait and makes any later one return at once.
  for (auto& t : timers) boost::asio::post(t->get_executor(), [t] { t->expires_at(Timer::time_point::min()); });
  return timers.size();
}

size_t Connections::size() const {
  std::lock_guard lock(mu_);
  return by_handle_.size();
}

}  // namespace pg::hub
