#include "passwords.hpp"

#include <sodium.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include <stdexcept>
#include <vector>

namespace duplex::chat {
namespace {

void ensure_sodium() {
  static const int ready = sodium_init();  // thread-safe once; 1 means "already done"
  if (ready < 0) throw std::runtime_error("libsodium cannot be initialized");
}

bool iequal_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto low = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (low(a[i]) != low(b[i])) return false;
  }
  return true;
}

// UTF-8 to UTF-16, refusing ill-formed input; nullopt when it is not text.
std::optional<std::u16string> to_utf16(std::string_view s) {
  std::u16string out(s.size() + 1, u'\0');
  int32_t len = 0;
  UErrorCode err = U_ZERO_ERROR;
  u_strFromUTF8(out.data(), static_cast<int32_t>(out.size()), &len, s.data(),
                static_cast<int32_t>(s.size()), &err);
  if (U_FAILURE(err)) return std::nullopt;
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::optional<std::u16string> nfkc(const std::u16string& s) {
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* n = unorm2_getNFKCInstance(&err);
  if (U_FAILURE(err)) return std::nullopt;
  // NFKC expands a code unit into at most 18 (U+FDFA).
  std::u16string out(s.size() * 18 + 1, u'\0');
  const int32_t len = unorm2_normalize(n, s.data(), static_cast<int32_t>(s.size()), out.data(),
                                       static_cast<int32_t>(out.size()), &err);
  if (U_FAILURE(err)) return std::nullopt;
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::string to_utf8(const std::u16string& s) {
  std::string out(s.size() * 3 + 1, '\0');
  int32_t len = 0;
  UErrorCode err = U_ZERO_ERROR;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &len, s.data(),
              static_cast<int32_t>(s.size()), &err);
  out.resize(U_SUCCESS(err) ? static_cast<std::size_t>(len) : 0);
  return out;
}

// Counts code points; false if one is a control or unassigned.
bool acceptable(const std::u16string& s, std::size_t& chars) {
  chars = 0;
  for (std::size_t i = 0; i < s.size();) {
    UChar32 c = 0;
    U16_NEXT(s.data(), i, s.size(), c);
    const auto type = u_charType(c);
    if (type == U_CONTROL_CHAR || type == U_UNASSIGNED || type == U_SURROGATE) return false;
    ++chars;
  }
  return true;
}

}  // namespace

hash_cost hash_cost::interactive() noexcept {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
hash_cost hash_cost::moderate() noexcept {
  return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
}
hash_cost hash_cost::minimum() noexcept {
  return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

std::string_view describe(password_problem p) noexcept {
  switch (p) {
    case password_problem::none:
      return "";
    case password_problem::too_short:
      return "the password is too short";
    case password_problem::too_long:
      return "the password is too long";
    case password_problem::not_text:
      return "the password must be text without control or unassigned characters";
    case password_problem::same_as_name:
      return "the password must not be the name";
  }
  return "";
}

password_problem prepare_password(std::string_view raw, const password_rules& rules,
                                  std::string_view name, std::string& out) {
  out.clear();
  if (raw.size() > rules.max_bytes) return password_problem::too_long;
  const auto wide = to_utf16(raw);
  if (!wide) return password_problem::not_text;
  const auto normal = nfkc(*wide);
  std::size_t chars = 0;
  if (!normal || !acceptable(*normal, chars)) return password_problem::not_text;
  if (chars < rules.min_chars) return password_problem::too_short;
  std::string prepared = to_utf8(*normal);
  if (!name.empty() && iequal_ascii(prepared, name)) return password_problem::same_as_name;
  out = std::move(prepared);
  return password_problem::none;
}

std::optional<std::string> hash_password(std::string_view prepared, const hash_cost& cost) {
  ensure_sodium();
  std::string out(crypto_pwhash_STRBYTES, '\0');
  if (crypto_pwhash_str(out.data(), prepared.data(), prepared.size(), cost.ops, cost.mem) != 0)
    return std::nullopt;
  out.resize(out.find('\0'));
  return out;
}

bool verify_password(std::string_view encoded, std::string_view prepared) {
  ensure_sodium();
  if (encoded.size() >= crypto_pwhash_STRBYTES) return false;
  std::string z(encoded);  // libsodium reads a NUL-terminated string
  return crypto_pwhash_str_verify(z.c_str(), prepared.data(), prepared.size()) == 0;
}

bool needs_rehash(std::string_view encoded, const hash_cost& cost) {
  ensure_sodium();
  if (encoded.size() >= crypto_pwhash_STRBYTES) return true;
  std::string z(encoded);
  return crypto_pwhash_str_needs_rehash(z.c_str(), cost.ops, cost.mem) != 0;
}

}  // namespace duplex::chat
