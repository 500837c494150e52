// The fold of edits, deletions and reactions (message_fold.hpp) on any bytes: what a reaction
// may be, reactions read back from a store's column, and a sequence of events folded into one
// message. Nothing crashes; a valid emoji is within its bounds; reactions read back encode and
// read the same again; a folded message keeps its bounds and never has a person twice under
// one emoji, and nothing changes it once deleted.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "src/message_fold.hpp"
#include "src/wire.hpp"

namespace {

namespace fold = duplex::chat::fold;
using duplex::chat::stored_message;

void check_bounds(const stored_message& m) {
  FUZZ_CHECK(m.reactions.size() <= fold::max_reactions);
  for (const auto& r : m.reactions) {
    FUZZ_CHECK(!r.nicks.empty() && r.nicks.size() <= fold::max_reactors);
    auto nicks = r.nicks;
    std::sort(nicks.begin(), nicks.end());
    FUZZ_CHECK(std::adjacent_find(nicks.begin(), nicks.end()) == nicks.end());
  }
}

// Each 3-byte step of the input is an event: its kind, who sends it, and which emoji.
void fold_steps(const std::uint8_t* data, std::size_t size) {
  static const char* kinds[] = {"edit", "delete", "react", "unreact", "other"};
  static const char* who[] = {"ann", "bob", "cy"};
  stored_message m{"r", 1, "ann", "hi", 1, {}, "ann"};
  for (std::size_t i = 0; i + 2 < size; i += 3) {
    stored_message e{"r", 0,  who[data[i + 1] % 3], "e" + std::to_string(data[i + 2] % 32),
                     2,   {}, who[data[i + 1] % 3]};
    e.kind = kinds[data[i] % 5];
    e.ref_id = (data[i] & 0x80) ? 2 : 1;
    const bool was_deleted = fold::deleted(m);
    const stored_message before = m;
    const bool changed = fold::apply(m, e);
    if (was_deleted || e.ref_id != 1) FUZZ_CHECK(!changed && m.text == before.text);
    if (changed) {
      stored_message again = m;
      FUZZ_CHECK(!fold::apply(again, e));  // idempotent
    }
    check_bounds(m);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  // The WebSocket layer hands the hub valid UTF-8 only; other bytes must still be refused.
  if (fold::valid_emoji(input)) {
    FUZZ_CHECK(!input.empty() && input.size() <= fold::max_emoji_bytes);
    FUZZ_CHECK(duplex::chat::text_refusal(input).empty());
  }
  const auto read = fold::decode_reactions(input);
  FUZZ_CHECK(read.size() <= fold::max_reactions);
  const std::string stored = fold::encode_reactions(read);
  const auto again = fold::decode_reactions(stored);
  FUZZ_CHECK(again.size() == read.size());
  FUZZ_CHECK(fold::encode_reactions(again) == stored);
  fold_steps(data, size);
  return 0;
}
