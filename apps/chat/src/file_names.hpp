// The name an uploaded file is shown and downloaded under: what the client sent, made harmless.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace duplex::chat {

inline constexpr std::size_t max_file_name_bytes = 180;

// `sent`: the X-Filename header, percent-encoded UTF-8 (a header carries bytes, not text).
// Percent-decodes it, drops bytes that are not UTF-8, control characters (C0, DEL, C1), bidi
// overrides, isolates and marks and zero-width characters (which can make "txt.exe" read
// "exe.txt"); turns '/' and '\' into '_'; trims spaces and dots at both ends; cuts at
// max_file_name_bytes on a character boundary. Nothing left: "file".
std::string sanitize_file_name(std::string_view sent);

// filename*=UTF-8''... of Content-Disposition (RFC 8187): every byte but letters, digits and
// "!#$&+-.^_`|~" percent-encoded.
std::string rfc8187_encode(std::string_view utf8);

}  // namespace duplex::chat
