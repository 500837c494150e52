#include "conversations.hpp"

namespace duplex::chat::conversations {

std::string feed_of(std::string_view key_a, std::string_view key_b) {
  if (key_b < key_a) std::swap(key_a, key_b);
  std::string out = "@";
  out.append(key_a).append("\n").append(key_b);
  return out;
}

bool is_conversation(std::string_view feed) noexcept {
  return !feed.empty() && feed.front() == '@';
}

std::optional<std::pair<std::string, std::string>> members(std::string_view feed) {
  if (!is_conversation(feed)) return std::nullopt;
  feed.remove_prefix(1);
  const auto sep = feed.find('\n');
  if (sep == std::string_view::npos || sep == 0 || sep + 1 == feed.size()) return std::nullopt;
  std::string a(feed.substr(0, sep));
  std::string b(feed.substr(sep + 1));
  if (b.find('\n') != std::string::npos || !(a < b)) return std::nullopt;
  return std::pair{std::move(a), std::move(b)};
}

}  // namespace duplex::chat::conversations
