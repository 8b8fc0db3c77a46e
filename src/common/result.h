// Result<T>: a value or an Error, for the data path (no exceptions there).
// g++ 12 has no std::expected in C++20, so this is the small stand-in.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pg {

// An error a caller can act on: `code` is a stable machine-readable string
// (it becomes {"error":{"code":...}} in the API), `message` is for humans,
// `status` is the HTTP status that fits it (0 when it does not apply).
struct Error {
  std::string code;
  std::string message;
  int status = 0;

  static Error Make(std::string code, std::string message, int status = 0) {
    return Error{std::move(code), std::move(message), status};
  }
  // Common shapes.
  static Error BadRequest(std::string code, std::string message) { return Make(std::move(code), std::move(message), 400); }
  static Error NotFound(std::string message) { return Make("not_found", std::move(message), 404); }
  static Error Internal(std::string message) { return Make("internal", std::move(message), 500); }
  // From errno: code "errno", message "<what>: strerror(err)".
  static Error FromErrno(const std::string& what, int err);
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Preconditions: ok() for value(), !ok() for error().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  const Error& error() const { return std::get<1>(v_); }
  Error& error() { return std::get<1>(v_); }

  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }
  Error& error() { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> Ok() { return Result<void>(); }

}  // namespace pg

#define PG_CONCAT_INNER(a, b) a##b
#define PG_CONCAT(a, b) PG_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
#define PG_RETURN_IF_ERROR(expr)                      \
  do {                                                \
    auto pg_result_ = (expr);                         \
    if (!pg_result_.ok()) return pg_result_.error();  \
  } while (0)

// `lhs = value of expr`, or returns its error.
#define PG_ASSIGN_OR_RETURN(lhs, expr) PG_ASSIGN_OR_RETURN_IMPL(PG_CONCAT(pg_r_, __LINE__), lhs, expr)
#define PG_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return std::move(tmp.error());  \
  lhs = std::move(tmp).value()
