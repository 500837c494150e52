// Helpers that turn a layer's error enum into a std::error_code category with one message table.
#pragma once

#include <cstddef>
#include <string>
#include <system_error>

namespace duplex::core {

/// A category whose messages come from a function mapping the enum to text. Each layer declares
/// its enum, a `describe` function, and one instance of this template.
template <class Enum, const char* (*Describe)(Enum)>
class enum_category final : public std::error_category {
 public:
  /// `name`: the category's name, a string literal.
  explicit constexpr enum_category(const char* name) : name_(name) {}
  /// The name given at construction.
  const char* name() const noexcept override { return name_; }
  /// Describe() of the enum value.
  std::string message(int value) const override { return Describe(static_cast<Enum>(value)); }

 private:
  const char* name_;
};

/// The row of a layer's error table whose `code` is `e`, or null.
template <class Entry, std::size_t N, class Enum>
constexpr const Entry* find_entry(const Entry (&table)[N], Enum e) noexcept {
  for (const auto& x : table)
    if (x.code == e) return &x;
  return nullptr;
}

}  // namespace duplex::core
