// The JSON of private conversations and read marks (docs/chat-protocol.md). A conversation's
// feed name stays inside the server: clients name a conversation by the other user.
#include "wire.hpp"

namespace duplex::chat::wire {
namespace {

using json = nlohmann::json;

json entry(const stored_message& m) {
  json out{{"id", m.id}, {"nick", m.nick}, {"text", m.text}, {"ts", m.ts_ms}};
  if (!m.cid.empty()) out["cid"] = m.cid;
  put_formatting(out, m.text);
  put_file(out, m);
  put_fold(out, m);
  return out;
}

json entries(const std::vector<stored_message>& messages) {
  json arr = json::array();
  for (const auto& m : messages)
    arr.push_back(entry(m));
  return arr;
}

json summary(const conversation_summary& c) {
  return {{"with", c.with},
          {"last_id", c.last_id},
          {"last_read", c.read.last_read},
          {"unread", c.read.unread}};
}

json summaries(const std::vector<conversation_summary>& list) {
  json arr = json::array();
  for (const auto& c : list)
    arr.push_back(summary(c));
  return arr;
}

}  // namespace

std::string welcome(std::string_view nick, std::string_view token,
                    const std::vector<conversation_summary>& conversations,
                    const std::vector<std::string>& rooms, std::size_t max_text_bytes) {
  json out{{"type", "welcome"},
           {"nick", nick},
           {"token", token},
           {"signed_in", true},
           {"conversations", summaries(conversations)}};
  if (!rooms.empty()) out["rooms"] = rooms;
  if (max_text_bytes != 0) out["max_text_bytes"] = max_text_bytes;
  return to_wire(out);
}

std::string conversation_list(const std::vector<conversation_summary>& conversations) {
  return to_wire({{"type", "conversations"}, {"conversations", summaries(conversations)}});
}

std::string conversation(const conversation_summary& c, const std::vector<stored_message>& messages,
                         bool resume, bool start) {
  json out = summary(c);
  out["type"] = "conversation";
  out["messages"] = entries(messages);
  if (resume) out["resume"] = true;
  if (start) out["start"] = true;
  return to_wire(out);
}

std::string conversation_page(std::string_view with, const std::vector<stored_message>& messages,
                              std::int64_t before, bool start) {
  json out{
      {"type", "history"}, {"with", with}, {"messages", entries(messages)}, {"before", before}};
  if (start) out["start"] = true;
  return to_wire(out);
}

std::string dm(std::string_view with, const stored_message& m) {
  json out = entry(m);
  out["type"] = "dm";
  out["with"] = with;
  return to_wire(out);
}

std::string dm_ack(std::string_view ref, std::string_view with, std::int64_t id,
                   std::string_view cid) {
  json out{{"type", "ack"}, {"ref", ref}, {"with", with}, {"id", id}};
  if (!cid.empty()) out["cid"] = cid;
  return to_wire(out);
}

std::string read_mark(std::string_view field, std::string_view feed, std::int64_t id) {
  return to_wire({{"type", "read"}, {std::string(field), feed}, {"id", id}});
}

std::string dm_error(std::string_view code, std::string_view message, std::string_view with,
                     std::string_view cid) {
  json out{{"type", "error"}, {"code", code}, {"message", message}};
  if (!with.empty()) out["with"] = with;
  if (!cid.empty()) out["cid"] = cid;
  return to_wire(out);
}

}  // namespace duplex::chat::wire
