#include "message_fold.hpp"

#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "wire.hpp"

namespace duplex::chat::fold {
namespace {

using json = nlohmann::json;

void react(stored_message& m, const stored_message& e, bool& changed) {
  auto it = std::find_if(m.reactions.begin(), m.reactions.end(),
                         [&](const reaction& r) { return r.emoji == e.text; });
  if (it == m.reactions.end()) {
    if (m.reactions.size() >= max_reactions) return;
    m.reactions.push_back({e.text, {e.nick}});
    changed = true;
    return;
  }
  auto& nicks = it->nicks;
  if (std::find(nicks.begin(), nicks.end(), e.nick) != nicks.end()) return;
  if (nicks.size() >= max_reactors) return;
  nicks.push_back(e.nick);
  changed = true;
}

void unreact(stored_message& m, const stored_message& e, bool& changed) {
  auto it = std::find_if(m.reactions.begin(), m.reactions.end(),
                         [&](const reaction& r) { return r.emoji == e.text; });
  if (it == m.reactions.end()) return;
  auto n = std::find(it->nicks.begin(), it->nicks.end(), e.nick);
  if (n == it->nicks.end()) return;
  it->nicks.erase(n);
  if (it->nicks.empty()) m.reactions.erase(it);
  changed = true;
}

}  // namespace

bool is_event_kind(std::string_view kind) noexcept {
  return kind == "edit" || kind == "delete" || kind == "react" || kind == "unreact";
}

bool apply(stored_message& m, const stored_message& e) {
  if (!m.kind.empty() || deleted(m) || m.id != e.ref_id) return false;
  const bool own = !m.author.empty() && m.author == e.author;
  bool changed = false;
  if (e.kind == "edit" && own && !e.text.empty()) {
    changed = m.text != e.text || m.edited_ms != e.ts_ms;
    m.text = e.text;
    m.edited_ms = e.ts_ms;
  } else if (e.kind == "delete" && own) {
    m.text.clear();
    m.file.clear();  // the attachment goes with the message (the blob stays for other uploads)
    m.reactions.clear();
    m.edited_ms = e.ts_ms;
    changed = true;
  } else if (e.kind == "react" && !e.text.empty()) {
    react(m, e, changed);
  } else if (e.kind == "unreact") {
    unreact(m, e, changed);
  }
  return changed;
}

bool valid_emoji(std::string_view emoji) {
  if (emoji.empty() || emoji.size() > max_emoji_bytes || !text_refusal(emoji).empty()) return false;
  const icu::UnicodeString s =
      icu::UnicodeString::fromUTF8(icu::StringPiece(emoji.data(), static_cast<int>(emoji.size())));
  if (s.isBogus() || s.indexOf(static_cast<UChar>(0xFFFD)) >= 0) return false;
  // Every code point belongs to emoji sequences, and one of them shows as an emoji.
  bool pictured = false;
  for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1)) {
    const UChar32 c = s.char32At(i);
    const bool joiner = c == 0x200D || c == 0xFE0F || c == 0x20E3 || (c >= 0xE0020 && c <= 0xE007F);
    if (!joiner && !u_hasBinaryProperty(c, UCHAR_EMOJI) &&
        !u_hasBinaryProperty(c, UCHAR_EMOJI_COMPONENT))
      return false;
    if (u_hasBinaryProperty(c, UCHAR_EMOJI_PRESENTATION) || c == 0xFE0F ||
        (c > 0x7F && u_hasBinaryProperty(c, UCHAR_EXTENDED_PICTOGRAPHIC)))
      pictured = true;
  }
  if (!pictured) return false;
  // One grapheme: the character break iterator finds no boundary inside.
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::BreakIterator> it(
      icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
  if (U_FAILURE(status) || !it) return false;
  it->setText(s);
  it->first();
  return it->next() == s.length();
}

std::string encode_reactions(const std::vector<reaction>& r) {
  if (r.empty()) return {};
  json arr = json::array();
  for (const auto& one : r)
    arr.push_back(json::array({one.emoji, one.nicks}));
  return to_wire(arr);
}

std::vector<reaction> decode_reactions(std::string_view text) {
  std::vector<reaction> out;
  if (text.empty()) return out;
  const json j = json::parse(text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& one : j) {
    if (!one.is_array() || one.size() != 2 || !one[0].is_string() || !one[1].is_array()) continue;
    reaction r{one[0].get<std::string>(), {}};
    for (const auto& n : one[1])
      if (n.is_string()) r.nicks.push_back(n.get<std::string>());
    if (!r.nicks.empty() && out.size() < max_reactions) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace duplex::chat::fold
