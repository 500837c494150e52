// The opening handshake (RFC 6455 section 4): server-side accept/reject, client-side
// request and verification.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "duplex/http/request.hpp"
#include "duplex/http/response_parser.hpp"
#include "duplex/ws/deflate.hpp"
#include "duplex/ws/error.hpp"

namespace duplex::ws {

/// base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view client_key);

/// Whether a request asks for a WebSocket at all (an Upgrade naming websocket, or any
/// Sec-WebSocket-Key/Version header). Such a request is validated strictly; others are plain HTTP.
bool is_upgrade_attempt(const http::request& req) noexcept;

/// The parts of a valid upgrade request a server answers from (views into the request).
struct upgrade_request {
  /// Sec-WebSocket-Key.
  std::string_view key;
  std::vector<std::string_view>
      protocols;                ///< offered subprotocols, over every Sec-WebSocket-Protocol
  std::string_view extensions;  ///< Sec-WebSocket-Extensions, as sent (may be empty)
  /// Origin (empty when absent).
  std::string_view origin;
};

/// Checks an upgrade request against RFC 6455 section 4.2.1. On success fills `out`.
std::error_code validate_upgrade(const http::request& req, upgrade_request& out);

/// Server, RFC 6455 section 4.2.2: the first of our subprotocols (in our order of preference)
/// that the client offered; empty when none was, and then the answer names none.
std::string_view choose_subprotocol(const std::vector<std::string>& ours,
                                    const std::vector<std::string_view>& offered) noexcept;
/// Server: whether a request from `origin` may open a route with this allow-list (exact match;
/// an empty list allows any origin, a missing Origin none of a non-empty list).
bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin) noexcept;
/// Server, section 4.2.2: the answer may name only a subprotocol the client offered (or none).
bool may_answer_subprotocol(const std::vector<std::string>& offered,
                            std::string_view chosen) noexcept;

/// 101 response. `protocol` and `extensions` are added when not empty.
std::string accept_response(std::string_view client_key, std::string_view protocol = {},
                            std::string_view extensions = {});

/// A refusal with a plain-text reason; 426 also names the version we speak.
std::string reject_response(int status, std::string_view reason);
std::string reject_response(handshake_errc e);

/// Client side: a request for `path` on `host` with the given 16-byte key (base64), and the check
/// of the server's answer headers.
std::string client_request(std::string_view host, std::string_view path, std::string_view key,
                           std::string_view extra_headers = {});
/// The whole upgrade request of a client that offers `subprotocols` (preferred first) and
/// permessage-deflate when `deflate.enabled`, with the application's `headers` after them. Empty
/// if a header could split the request; its name is then in `refused`.
std::string offer_request(std::string_view host, std::string_view path, std::string_view key,
                          const std::vector<std::string>& subprotocols,
                          const deflate_options& deflate,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::string& refused);
bool verify_accept(std::string_view client_key, std::string_view accept_value);

/// RFC 6455 section 4.1: the client's checks of the server's answer. A 101 with
/// Upgrade: websocket, Connection: upgrade and the right Sec-WebSocket-Accept; at most the
/// permessage-deflate we offered (its parameters go to `agreed`) and one of the subprotocols we
/// offered.
std::error_code check_response(const http::response& res, std::string_view client_key,
                               const std::vector<std::string>& offered_protocols,
                               const deflate_options& offered_deflate,
                               std::optional<deflate_params>& agreed);

}  // namespace duplex::ws
