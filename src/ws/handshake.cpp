#include "duplex/ws/handshake.hpp"

#include <algorithm>

#include "duplex/core/base64.hpp"
#include "duplex/core/sha1.hpp"
#include "duplex/http/response.hpp"
#include "duplex/http/token_list.hpp"

namespace duplex::ws {
namespace {

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool repeated(const http::request& req, std::string_view name) {
  return req.count(name) > 1;
}

// RFC 9112 section 6.3: a GET upgrade must not carry a body. The http layer decides, so that
// "Content-Length: 00" is the zero it is and malformed framing is refused, as on plain requests.
bool has_body(const http::request& req) {
  return !http::request_body(req).empty();
}

}  // namespace

std::string accept_key(std::string_view client_key) {
  std::string s;
  s.reserve(client_key.size() + guid.size());
  s += client_key;
  s += guid;
  const auto d = core::sha1(s);
  return core::base64_encode({reinterpret_cast<const char*>(d.data()), d.size()});
}

bool is_upgrade_attempt(const http::request& req) noexcept {
  if (const auto up = req.find("Upgrade"); up && http::has_token(*up, "websocket")) return true;
  return req.find("Sec-WebSocket-Key") || req.find("Sec-WebSocket-Version");
}

std::error_code validate_upgrade(const http::request& req, upgrade_request& out) {
  // RFC 6455 section 4.2.1, items 1 to 6, in order.
  if (req.method != "GET") return handshake_errc::not_get;
  if (req.version_minor < 1) return handshake_errc::not_http11;
  if (req.count("Host") != 1 || req.find("Host")->empty()) return handshake_errc::missing_host;
  for (auto name : {"Upgrade", "Sec-WebSocket-Key", "Sec-WebSocket-Version", "Origin"})
    if (repeated(req, name)) return handshake_errc::duplicate_header;
  const auto upgrade = req.find("Upgrade");
  if (!upgrade || !http::has_token(*upgrade, "websocket")) return handshake_errc::missing_upgrade;
  bool connection_upgrade = false;
  for (const auto& h : req.headers)
    if (http::iequals(h.name, "Connection") && http::has_token(h.value, "upgrade"))
      connection_upgrade = true;
  if (!connection_upgrade) return handshake_errc::missing_connection_upgrade;
  // Section 4.4: an unknown version is answered with 426 naming the versions we speak.
  const auto version = req.find("Sec-WebSocket-Version");
  if (!version || *version != "13") return handshake_errc::unsupported_version;
  const auto key = req.find("Sec-WebSocket-Key");
  if (!key) return handshake_errc::missing_key;
  const auto raw = core::base64_decode(*key);
  if (!raw || raw->size() != 16) return handshake_errc::invalid_key;
  if (has_body(req)) return handshake_errc::has_body;
  out.key = *key;
  out.protocols.clear();
  for (const auto& h : req.headers) {
    if (!http::iequals(h.name, "Sec-WebSocket-Protocol")) continue;
    http::for_each_token(h.value, [&](std::string_view t) {
      out.protocols.push_back(t);
      return true;
    });
  }
  out.extensions = req.find("Sec-WebSocket-Extensions").value_or("");
  out.origin = req.find("Origin").value_or("");
  return {};
}

std::string accept_response(std::string_view client_key, std::string_view protocol,
                            std::string_view extensions) {
  std::string out;
  out.reserve(160);
  http::response_writer w(out, 101);
  w.header("Upgrade", "websocket");
  w.header("Connection", "Upgrade");
  w.header("Sec-WebSocket-Accept", accept_key(client_key));
  if (!protocol.empty()) w.header("Sec-WebSocket-Protocol", protocol);
  if (!extensions.empty()) w.header("Sec-WebSocket-Extensions", extensions);
  w.finish();
  return out;
}

std::string reject_response(int status, std::string_view reason) {
  std::string out;
  http::response_writer w(out, status);
  if (status == 426) {
    w.header("Upgrade", "websocket");
    w.header("Sec-WebSocket-Version", "13");
  }
  w.header("Content-Type", "text/plain; charset=utf-8");
  w.content_length(reason.size() + 1);
  w.header("Connection", "close");
  w.finish(reason);
  out += '\n';
  return out;
}

std::string_view choose_subprotocol(const std::vector<std::string>& ours,
                                    const std::vector<std::string_view>& offered) noexcept {
  for (const auto& mine : ours)
    if (std::find(offered.begin(), offered.end(), mine) != offered.end()) return mine;
  return {};
}

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin) noexcept {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

bool may_answer_subprotocol(const std::vector<std::string>& offered,
                            std::string_view chosen) noexcept {
  return chosen.empty() || std::find(offered.begin(), offered.end(), chosen) != offered.end();
}

std::string reject_response(handshake_errc e) {
  return reject_response(status_for(e), make_error_code(e).message());
}

std::string client_request(std::string_view host, std::string_view path, std::string_view key,
                           std::string_view extra_headers) {
  std::string out;
  out.reserve(200 + extra_headers.size());
  out += "GET ";
  out += path.empty() ? "/" : path;
  out += " HTTP/1.1\r\nHost: ";
  out += host;
  out += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  out += key;
  out += "\r\nSec-WebSocket-Version: 13\r\n";
  out += extra_headers;
  out += "\r\n";
  return out;
}

std::string offer_request(std::string_view host, std::string_view path, std::string_view key,
                          const std::vector<std::string>& subprotocols,
                          const deflate_options& deflate,
                          const std::vector<std::pair<std::string, std::string>>& headers,
                          std::string& refused) {
  std::string extra;
  std::string list;
  for (std::size_t i = 0; i < subprotocols.size(); ++i)
    (list += i ? ", " : "") += subprotocols[i];
  const auto add = [&](std::string_view name, std::string_view value) {
    if (http::append_field(extra, name, value)) return true;
    refused = std::string(name);
    return false;
  };
  if (!list.empty() && !add("Sec-WebSocket-Protocol", list)) return {};
  if (deflate.enabled && !add("Sec-WebSocket-Extensions", deflate_offer(deflate))) return {};
  for (const auto& [name, value] : headers)
    if (!add(name, value)) return {};
  return client_request(host, path, key, extra);
}

bool verify_accept(std::string_view client_key, std::string_view accept_value) {
  return accept_key(client_key) == accept_value;
}

std::error_code check_response(const http::response& res, std::string_view client_key,
                               const std::vector<std::string>& offered_protocols,
                               const deflate_options& offered_deflate,
                               std::optional<deflate_params>& agreed) {
  agreed.reset();
  if (res.status != 101) return handshake_errc::not_switching_protocols;
  const auto up = res.find("Upgrade");
  if (!up || !http::has_token(*up, "websocket")) return handshake_errc::missing_upgrade;
  const auto conn = res.find("Connection");
  if (!conn || !http::has_token(*conn, "upgrade"))
    return handshake_errc::missing_connection_upgrade;
  const auto accept = res.find("Sec-WebSocket-Accept");
  if (!accept || res.count("Sec-WebSocket-Accept") != 1 || !verify_accept(client_key, *accept))
    return handshake_errc::bad_accept;
  // Section 4.1, items 5 and 6: nothing may be agreed that was not offered.
  if (const auto ext = res.find("Sec-WebSocket-Extensions"); ext && !ext->empty()) {
    if (offered_deflate.enabled && res.count("Sec-WebSocket-Extensions") == 1)
      agreed = accept_deflate_response(*ext, offered_deflate);
    if (!agreed) return handshake_errc::unexpected_extension;
  }
  if (const auto proto = res.find("Sec-WebSocket-Protocol")) {
    if (res.count("Sec-WebSocket-Protocol") != 1 ||
        std::find(offered_protocols.begin(), offered_protocols.end(), *proto) ==
            offered_protocols.end())
      return handshake_errc::unexpected_subprotocol;
  }
  return {};
}

}  // namespace duplex::ws
