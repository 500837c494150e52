// The chat's JSON on the wire: serialization that cannot throw, and the text rules of fields.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace duplex::chat {

// Serializes a message for a client or for Redis. Never throws: bytes that are not UTF-8 (which
// no rule of the hub lets in, but a store or a bug might) come out as U+FFFD, because one bad
// field must cost one odd character, not the event loop.
std::string to_wire(const nlohmann::json& j);

// Fields of a parsed object, of the expected kind or else the default: a peer (or another node)
// that sends the wrong kind gets ignored, where json::value() would throw.
std::string text_field(const nlohmann::json& j, const char* key);
// An integer field; a float is truncated, anything else gives `fallback`.
std::int64_t int_field(const nlohmann::json& j, const char* key, std::int64_t fallback = 0);

// The number of code points in valid UTF-8 (the WebSocket layer validated every text frame).
std::size_t code_points(std::string_view utf8) noexcept;

}  // namespace duplex::chat
