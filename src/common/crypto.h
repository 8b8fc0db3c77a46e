// Random identifiers, tokens and hashes (OpenSSL).
#pragma once

#include <string>
#include <string_view>

namespace pg {

// `bytes` random bytes from the kernel CSPRNG, encoded base64url without
// padding. RandomId(16) carries 128 bits (22 characters).
std::string RandomToken(size_t bytes);

// A playground id: 128 random bits, lowercase base32 (26 characters,
// [a-z2-7]), usable as a DNS label and in URL paths.
std::string NewPlaygroundId();

// True when `id` has the shape NewPlaygroundId() produces.
bool IsValidPlaygroundId(std::string_view id);

std::string Sha256(std::string_view data);     // raw 32 bytes
std::string Sha256Hex(std::string_view data);  // lowercase hex
std::string HmacSha256(std::string_view key, std::string_view data);  // raw
std::string HexEncode(std::string_view raw);

// Constant-time comparison of two strings of equal or unequal length.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace pg
