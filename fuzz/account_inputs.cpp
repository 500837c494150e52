// What a peer sends that the accounts read without a database: a Cookie header, a peer
// address, a password, a User-Agent. Nothing crashes, and each answer keeps its promise.
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "src/client_address.hpp"
#include "src/cookies.hpp"
#include "src/passwords.hpp"
#include "src/sessions.hpp"

namespace {

using namespace duplex::chat;

bool within(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void cookie(std::string_view header) {
  for (std::string_view name : {"duplex_session", "a", ""}) {
    const auto v = find_cookie(header, name);
    if (!v) continue;
    FUZZ_CHECK(within(*v, header));                      // a view into the header, never a copy
    FUZZ_CHECK(v->find(';') == std::string_view::npos);  // one cookie's value only
  }
}

void address(std::string_view peer) {
  const auto host = peer_host(peer);
  const auto key = address_key(peer);
  FUZZ_CHECK(host.size() <= 64 || host.size() <= peer.size());
  FUZZ_CHECK(key.size() <= 64);
}

void password(std::string_view raw) {
  std::string prepared;
  const password_rules rules;
  if (prepare_password(raw, rules, "name", prepared) != password_problem::none) return;
  FUZZ_CHECK(!prepared.empty());
  // NFKC is idempotent: what was prepared prepares to itself (a stored hash stays reachable).
  std::string again;
  password_rules any = rules;
  any.max_bytes = prepared.size();
  FUZZ_CHECK(prepare_password(prepared, any, {}, again) == password_problem::none);
  FUZZ_CHECK(again == prepared);
}

void user_agent(std::string_view raw) {
  const auto clean = clean_user_agent(raw, 100);
  FUZZ_CHECK(clean.size() <= 100 && clean.size() <= raw.size());
  for (char c : clean)
    FUZZ_CHECK(c >= 0x20 && c <= 0x7e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  cookie(in);
  address(in);
  password(in);
  user_agent(in);
  return 0;
}
