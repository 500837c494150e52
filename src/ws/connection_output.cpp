// ws::connection's output: frames for the commands (send, fragments, ping, pong, close), the
// masking a client owes, and the messages held behind a fragmented one (RFC 6455 section 5.4).
#include <algorithm>
#include <cstring>

#include "duplex/ws/close_code.hpp"
#include "duplex/ws/connection.hpp"

namespace duplex::ws {
namespace {

core::random_source& fallback_random() {
  thread_local core::system_random rng;
  return rng;
}

}  // namespace

// Allocated only while something is held: an idle connection pays a pointer, not a string.
std::string& connection::held() {
  if (!held_) held_ = std::make_unique<std::string>();
  return *held_;
}

std::string& connection::out() {
  if (!out_) {
    if (!own_out_) own_out_ = std::make_unique<std::string>();
    out_ = own_out_.get();
  }
  return *out_;
}

void connection::clear_output(std::size_t keep) noexcept {
  if (!out_) return;
  out_->clear();
  if (out_ == own_out_.get() && own_out_->capacity() > keep) {
    own_out_.reset();
    out_ = nullptr;
  }
}

// Held messages are written out after the last fragment, or never once the connection closes;
// either way their buffer goes.
void connection::free_held() noexcept {
  held_.reset();
}

void connection::write_frame(opcode op, std::string_view data, bool fin, std::uint8_t rsv) {
  write_frame_to(out(), op, data, fin, rsv);
}

void connection::write_frame_to(std::string& to, opcode op, std::string_view data, bool fin,
                                std::uint8_t rsv) {
  if (role_ == role::server) {
    // A small frame is assembled here and appended once: most messages are small, and each
    // append checks and grows the string.
    constexpr std::size_t small = 256;
    char frame[max_header_size + small];
    if (data.size() < 126) {  // the two-byte header, written in place (RFC 6455 section 5.2)
      frame[0] = static_cast<char>((fin ? 0x80 : 0) | (rsv & 0x70) | static_cast<unsigned>(op));
      frame[1] = static_cast<char>(data.size());
      if (!data.empty()) std::memcpy(frame + 2, data.data(), data.size());
      to.append(frame, 2 + data.size());
      return;
    }
    const std::size_t n = write_header(frame, fin, op, data.size(), nullptr, rsv);
    if (data.size() <= small) {
      if (!data.empty()) std::memcpy(frame + n, data.data(), data.size());
      to.append(frame, n + data.size());
      return;
    }
    to.append(frame, n);
    to.append(data);
    return;
  }
  char header[max_header_size];
  // Section 5.3: every client frame carries a fresh, unpredictable mask.
  mask_key key;
  (rng_ ? *rng_ : fallback_random()).fill(std::as_writable_bytes(std::span(key)));
  to.append(header, write_header(header, fin, op, data.size(), &key, rsv));
  const std::size_t at = to.size();
  to.append(data);
  apply_mask(to.data() + at, data.size(), key, 0);
}

void connection::write_close(std::uint16_t code, std::string_view reason) {
  if (code == to_int(close_code::no_status)) {
    write_frame(opcode::close, {}, true);
    return;
  }
  char body[max_control_payload];
  body[0] = static_cast<char>(code >> 8);
  body[1] = static_cast<char>(code & 0xFF);
  const std::size_t n = std::min(reason.size(), max_control_payload - 2);
  if (n != 0) std::memcpy(body + 2, reason.data(), n);  // an empty view may hold null
  write_frame(opcode::close, {body, n + 2}, true);
}

bool connection::send(opcode op, std::string_view data) {
  return send(op, data, deflate_ && data.size() >= deflate_->min_size);
}

bool connection::send(opcode op, std::string_view data, bool compress) {
  if (!can_send() || is_control(op) || op == opcode::continuation) return false;
  // The reply nearly every message gets: small, uncompressed, a server's, into a buffer already
  // there (the loop's lent one while a callback runs). Appended here, with no further call.
  if (out_ && data.size() < 126 && role_ == role::server && !sending_fragments_ &&
      !(deflate_ && compress)) {
    char frame[2 + 125];
    frame[0] = static_cast<char>(0x80 | static_cast<unsigned>(op));
    frame[1] = static_cast<char>(data.size());
    if (!data.empty()) std::memcpy(frame + 2, data.data(), data.size());
    out_->append(frame, 2 + data.size());
    return true;
  }
  // Section 5.4: no other data frame may come between the fragments of a message, so a whole
  // message sent meanwhile waits for the last fragment (control frames may interleave).
  std::string& to = sending_fragments_ ? held() : out();
  if (deflate_ && compress) {
    // The header needs the compressed length, so the payload is built aside first: in one
    // buffer per thread (a loop's connections share it), not one allocation per message.
    thread_local std::string packed;
    packed.clear();
    const bool ok = deflate_->codec.compress(data, packed);
    // RFC 7692 section 7.2.1: RSV1 marks the message as compressed.
    if (ok) write_frame_to(to, op, packed, true, 0x40);
    if (packed.capacity() > keep_capacity) std::string().swap(packed);
    if (ok) return true;
  }
  write_frame_to(to, op, data, true, 0);
  return true;
}

bool connection::insert_frame(std::string_view frame) {
  if (!can_send()) return false;
  (sending_fragments_ ? held() : out()).append(frame);
  return true;
}

connection::admission connection::admit_frame(std::string_view frame, bool batching) {
  if (!can_send()) return admission::refused;
  if (!batching && pending_output().empty() && !sending_fragments_) return admission::direct;
  insert_frame(frame);
  return admission::buffered;
}

bool connection::send_fragment(opcode op, std::string_view data, bool fin) {
  if (!can_send() || is_control(op)) return false;
  if (!sending_fragments_ && op == opcode::continuation) return false;
  write_frame(sending_fragments_ ? opcode::continuation : op, data, fin);
  sending_fragments_ = !fin;
  if (fin && held_) {
    out().append(*held_);
    free_held();
  }
  return true;
}

bool connection::ping(std::string_view data) {
  if (!can_send() || data.size() > max_control_payload) return false;
  write_frame(opcode::ping, data, true);
  return true;
}

bool connection::pong(std::string_view data) {
  if (!can_send() || data.size() > max_control_payload) return false;
  write_frame(opcode::pong, data, true);
  return true;
}

bool connection::close(std::uint16_t code, std::string_view reason) {
  if (close_sent_ || state_ != state::open) return false;
  if (code != to_int(close_code::no_status) && !is_valid_on_wire(code)) return false;
  if (reason.size() > max_control_payload - 2 || !core::is_valid_utf8(reason)) return false;
  if (code == to_int(close_code::no_status) && !reason.empty()) return false;
  write_close(code, reason);
  close_sent_ = true;
  state_ = state::closing;
  free_held();  // nothing more is sent after a close frame
  return true;
}

std::size_t connection::frame_header(char* out, opcode op, std::size_t size) noexcept {
  if (role_ != role::server || !can_send() || sending_fragments_ || is_control(op) ||
      op == opcode::continuation)
    return 0;
  return write_header(out, true, op, size);
}

}  // namespace duplex::ws
