// The JSON of edits, deletions, reactions and replies (docs/chat-protocol.md, issue 14 item 3).
#include "message_fold.hpp"
#include "wire.hpp"

namespace duplex::chat::wire {

using json = nlohmann::json;

void put_fold(json& out, const stored_message& m) {
  if (fold::is_event(m)) {
    out["kind"] = m.kind;
    out["target"] = m.ref_id;
    if (m.kind == "react" || m.kind == "unreact") out["emoji"] = m.text;
    if (m.kind != "edit") out.erase("text");
    return;
  }
  if (m.ref_id > 0) out["reply_to"] = m.ref_id;
  if (fold::deleted(m)) {
    out["deleted"] = true;
    return;
  }
  if (m.edited_ms != 0) out["edited"] = m.edited_ms;
  if (m.reactions.empty()) return;
  json list = json::array();
  for (const auto& r : m.reactions) {
    json nicks = json::array();
    for (const auto& n : r.nicks)
      nicks.push_back(shown(n).nick);
    list.push_back({{"emoji", r.emoji}, {"nicks", std::move(nicks)}});
  }
  out["reactions"] = std::move(list);
}

}  // namespace duplex::chat::wire
