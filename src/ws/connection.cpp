#include "duplex/ws/connection.hpp"

#include <algorithm>
#include <cstring>

#include "capped_append.hpp"
#include "duplex/ws/close_code.hpp"

namespace duplex::ws {
namespace {

// The largest message buffer this thread's connections have given up (up to max_spare), kept
// for the next large message: a 1 MiB message otherwise grows a fresh buffer through every
// doubling, and this VM's page faults on fresh memory made that most of a large echo's cost
// (more so when input comes in 16 KiB pieces, as io_uring's provided buffers give it).
constexpr std::size_t max_spare = 4 * 1024 * 1024;

struct spare_holder {
  std::string buffer;
  ~spare_holder();
};
// Trivially destructible, so still readable while the thread's other objects are destroyed:
// one destroyed after the holder (made before it) must not give a buffer to a dead string.
thread_local bool spare_gone = false;
spare_holder::~spare_holder() {
  spare_gone = true;
}

std::string* spare_buffer() noexcept {
  thread_local spare_holder spare;
  return spare_gone ? nullptr : &spare.buffer;
}

// A message that outgrows its buffer continues in the spare one when that is large enough,
// and no larger than this connection's limit lets a message buffer be.
void grow_into_spare(std::string& msg, std::size_t need, std::size_t limit) {
  std::string* kept = spare_buffer();
  if (kept == nullptr) return;
  std::string& spare = *kept;
  if (spare.capacity() < need || spare.capacity() > limit) return;
  spare.assign(msg);
  msg.swap(spare);
  std::string().swap(spare);
}

// A large buffer given up: kept if it is the largest yet.
void give_up_buffer(std::string& msg) noexcept {
  std::string* spare = spare_buffer();
  if (spare != nullptr && msg.capacity() > spare->capacity() && msg.capacity() <= max_spare) {
    msg.clear();
    spare->swap(msg);
  }
  std::string().swap(msg);
}

std::uint64_t read_be(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v = v << 8 | p[i];
  return v;
}

// Total header size, known from the first two bytes.
std::size_t header_length(unsigned char b1) {
  const unsigned len7 = b1 & 0x7F;
  return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((b1 & 0x80) ? 4 : 0);
}

event close_event(std::uint16_t code, std::string_view reason, std::error_code ec = {}) {
  event ev;
  ev.type = event_type::close;
  ev.code = code;
  ev.data = reason;
  ev.error = ec;
  return ev;
}

// Unmasks a payload of at most 125 bytes (phase 0) with the key at `key`, and says whether it
// is all ASCII, in one pass of 8-byte words: for the short texts most messages are, the UTF-8
// check is then done, and neither apply_mask's set-up nor a second pass is paid.
bool unmask_small(char* data, std::size_t size, const char* key) noexcept {
  std::uint32_t k32;
  std::memcpy(&k32, key, sizeof k32);
  // Byte j of the word in memory is key[j & 3], whatever the byte order.
  const std::uint64_t word = static_cast<std::uint64_t>(k32) << 32 | k32;
  std::uint64_t any = 0;
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, data + i, sizeof v);
    v ^= word;
    std::memcpy(data + i, &v, sizeof v);
    any |= v;
  }
  if (i + 4 <= size) {
    std::uint32_t v;
    std::memcpy(&v, data + i, sizeof v);
    v ^= k32;
    std::memcpy(data + i, &v, sizeof v);
    any |= v;
    i += 4;
  }
  for (std::size_t j = 0; i < size; ++i, ++j) {  // i is a multiple of 4 here: phase 0 again
    data[i] = static_cast<char>(data[i] ^ key[j]);
    any |= static_cast<unsigned char>(data[i]);
  }
  return (any & 0x8080808080808080ULL) == 0;
}

}  // namespace

connection::connection(ws::role r, limits l, core::random_source* rng)
    : max_message_(l.max_message_bytes),
      max_fragments_(
          static_cast<std::uint32_t>(std::min<std::size_t>(l.max_fragments, UINT32_MAX))),
      rng_(rng),
      role_(r),
      stream_fragments_(l.stream_fragments) {}

connection::~connection() = default;

void connection::enable_deflate(const deflate_params& p, int level, std::size_t min_size,
                                compressor_memory memory) {
  deflate_ = std::make_unique<deflate_part>(role_ == ws::role::server, p, level, min_size, memory);
}

std::size_t connection::spare_bytes() noexcept {
  const std::string* spare = spare_buffer();
  return spare != nullptr ? spare->capacity() : 0;
}

connection::partial& connection::part() {
  if (!part_) part_ = std::make_unique<partial>();
  return *part_;
}

event connection::pending_close() const {
  return close_event(
      close_code_, {},
      close_error_ ? make_error_code(static_cast<errc>(close_error_)) : std::error_code());
}

void connection::receive(std::span<char> bytes) noexcept {
  in_ = bytes.data();
  in_end_ = bytes.data() + bytes.size();
}

void connection::receive_eof() noexcept {
  if (state_ == state::closed) return;
  abort(errc::connection_lost);
}

void connection::abort(errc why) noexcept {
  if (state_ == state::closed) return;
  state_ = state::closed;
  free_held();
  failed_ = true;
  pending_close_ = true;
  close_code_ = close_code_for(why);
  close_error_ = static_cast<std::uint8_t>(why);
  in_ = in_end_;
}

void connection::release_delivered() noexcept {
  if (!part_) return;
  partial& p = *part_;
  if (release_msg_) {
    p.msg.clear();
    if (p.msg.capacity() > keep_capacity) give_up_buffer(p.msg);
    release_msg_ = false;
  }
  if (release_ctrl_) {
    p.ctrl.clear();
    release_ctrl_ = false;
  }
  // Back to idle: nothing split across reads is held any more.
  if (!deflate_ && p.msg.empty() && p.ctrl.empty() && p.hdr_have == 0) part_.reset();
}

std::optional<event> connection::next_event() {
  if (part_) release_delivered();  // an idle connection holds none: no call per event
  if (pending_close_) {
    pending_close_ = false;
    return pending_close();
  }
  while (in_ != in_end_) {
    // RFC 6455 section 5.5.1: after the close handshake, nothing more is read.
    if (state_ == state::closed) {
      in_ = in_end_;
      break;
    }
    if (!in_payload_) {
      if (event fast; fast_message(fast)) return fast;
      const auto hs = read_header();
      if (hs == header_status::error) return pending_close();
      if (hs == header_status::more) break;
      if (remaining_ == 0) {
        if (auto ev = on_payload(in_, 0)) return ev;
        continue;
      }
    }
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(remaining_, static_cast<std::uint64_t>(in_end_ - in_)));
    char* chunk = in_;
    in_ += n;
    if (frame_masked_) phase_ = static_cast<std::uint8_t>(apply_mask(chunk, n, key_, phase_));
    remaining_ -= n;
    if (n != 0 && remaining_ != 0) frame_split_ = true;
    if (auto ev = on_payload(chunk, n)) return ev;
  }
  return std::nullopt;
}

connection::header_status connection::read_header() {
  const auto avail = static_cast<std::size_t>(in_end_ - in_);
  if (avail >= 6 && (!part_ || part_->hdr_have == 0) && fast_header()) return header_status::ok;
  if ((!part_ || part_->hdr_have == 0) && avail >= 2) {
    const std::size_t need = header_length(static_cast<unsigned char>(in_[1]));
    if (avail >= need) {
      const auto* h = reinterpret_cast<const unsigned char*>(in_);
      in_ += need;
      return parse_header(h);
    }
  }
  // The header is split across reads: gather it out of line.
  partial& p = part();
  while (p.hdr_have < 2 && in_ != in_end_)
    p.hdr[p.hdr_have++] = static_cast<std::uint8_t>(*in_++);
  if (p.hdr_have < 2) return header_status::more;
  const std::size_t need = header_length(p.hdr[1]);
  const std::size_t take = std::min(need - p.hdr_have, static_cast<std::size_t>(in_end_ - in_));
  std::memcpy(p.hdr + p.hdr_have, in_, take);
  in_ += take;
  p.hdr_have = static_cast<std::uint8_t>(p.hdr_have + take);
  if (p.hdr_have < need) return header_status::more;
  p.hdr_have = 0;
  return parse_header(p.hdr);
}

// The hot path, fused: the frame nearly every client message is (see fast_header) whole in the
// input is unmasked, validated and reported in one step. Being whole, it leaves no frame or
// message state behind, so none is written. The event views the input, as on_data's own
// shortcut does. False: the general path takes it.
bool connection::fast_message(event& ev) {
  const auto avail = static_cast<std::size_t>(in_end_ - in_);
  if (avail < 6) return false;
  const auto b0 = static_cast<unsigned char>(in_[0]);
  const auto b1 = static_cast<unsigned char>(in_[1]);
  const std::size_t len = b1 & 0x7F;
  if ((b0 != 0x81 && b0 != 0x82) || (b1 & 0x80) == 0 || len > 125 || avail - 6 < len) return false;
  if (role_ != role::server || msg_op_ != 0 || stream_fragments_ || max_fragments_ == 0 ||
      len > max_message_ || (part_ && part_->hdr_have != 0))
    return false;
  char* payload = in_ + 6;
  const bool ascii = unmask_small(payload, len, in_ + 2);
  in_ = payload + len;
  const auto op = static_cast<opcode>(b0 & 0x0F);
  // Section 8.1: invalid UTF-8 fails the connection.
  if (op == opcode::text && !ascii && !core::is_valid_utf8({payload, len})) {
    ev = fail(errc::invalid_utf8);
    return true;
  }
  ev.type = event_type::message;
  ev.op = op;
  ev.data = {payload, len};
  return true;
}

// The frame nearly every message is: a client's whole text or binary message of at most 125
// bytes in one masked frame (FIN, no RSV bit), with no message in progress. What
// parse_header() and check_data_frame() would check and set for it, in one step; anything
// else, or a limit it would break, is left to them. Needs six bytes of input.
bool connection::fast_header() noexcept {
  const auto b0 = static_cast<unsigned char>(in_[0]);
  const auto b1 = static_cast<unsigned char>(in_[1]);
  if ((b0 != 0x81 && b0 != 0x82) || (b1 & 0x80) == 0 || (b1 & 0x7F) > 125) return false;
  const std::uint64_t len = b1 & 0x7F;
  if (role_ != role::server || msg_op_ != 0 || max_fragments_ == 0) return false;
  if (!stream_fragments_ && len > max_message_) return false;
  msg_op_ = b0 & 0x0F;
  msg_size_ = len;
  fragments_ = 1;
  msg_compressed_ = false;
  utf8_.reset();
  frame_rsv1_ = false;
  std::memcpy(key_.data(), in_ + 2, 4);
  in_ += 6;
  frame_op_ = msg_op_;
  frame_fin_ = true;
  frame_masked_ = true;
  remaining_ = len;
  frame_split_ = false;
  phase_ = 0;
  in_payload_ = true;
  return true;
}

connection::header_status connection::parse_header(const unsigned char* h) {
  auto failed = [&](errc e) {
    fail(e);  // records the close event that next_event() reports
    return header_status::error;
  };
  const bool fin = (h[0] & 0x80) != 0;
  const std::uint8_t op = h[0] & 0x0F;
  const bool masked = (h[1] & 0x80) != 0;
  const std::uint8_t rsv = h[0] & 0x70;
  // RFC 6455 section 5.2: RSV1-3 MUST be 0 unless an extension defines them. RFC 7692
  // section 6: permessage-deflate defines RSV1, on the first frame of a data message only.
  if ((rsv & ~(deflate_ ? 0x40 : 0x00)) != 0) return failed(errc::reserved_bits);
  // Section 5.2: reserved opcodes MUST fail the connection.
  if (!is_known(op)) return failed(errc::reserved_opcode);
  if (rsv != 0 && (op == 0 || is_control(static_cast<opcode>(op))))
    return failed(errc::reserved_bits);
  frame_rsv1_ = rsv != 0;
  std::uint64_t len = h[1] & 0x7F;
  std::size_t at = 2;
  if (len == 126) {
    len = read_be(h + 2, 2);
    at = 4;
    // Section 5.2: "the minimal number of bytes MUST be used to encode the length".
    if (len < 126) return failed(errc::non_minimal_length);
  } else if (len == 127) {
    len = read_be(h + 2, 8);
    at = 10;
    // Section 5.2: "the most significant bit MUST be 0".
    if (len >> 63) return failed(errc::length_top_bit_set);
    if (len <= 0xFFFF) return failed(errc::non_minimal_length);
  }
  if (is_control(static_cast<opcode>(op))) {
    // Section 5.5: control frames MUST NOT be fragmented and carry at most 125 bytes.
    if (!fin) return failed(errc::fragmented_control_frame);
    if (len > max_control_payload) return failed(errc::control_frame_too_long);
  }
  // Section 5.1: a server MUST fail on an unmasked frame, a client on a masked one.
  if (role_ == role::server && !masked) return failed(errc::unmasked_client_frame);
  if (role_ == role::client && masked) return failed(errc::masked_server_frame);
  if (!is_control(static_cast<opcode>(op))) {
    if (auto e = check_data_frame(op, len)) return failed(*e);
  }
  if (masked) std::memcpy(key_.data(), h + at, 4);
  frame_op_ = op;
  frame_fin_ = fin;
  frame_masked_ = masked;
  remaining_ = len;
  frame_split_ = false;
  phase_ = 0;
  in_payload_ = true;
  return header_status::ok;
}

std::optional<errc> connection::check_data_frame(std::uint8_t op, std::uint64_t len) {
  // Section 5.4: a continuation needs a message in progress, and a new message may not start
  // inside one.
  if (op == 0 && msg_op_ == 0) return errc::unexpected_continuation;
  if (op != 0 && msg_op_ != 0) return errc::expected_continuation;
  if (op != 0) {
    msg_op_ = op;
    msg_size_ = 0;
    fragments_ = 0;
    msg_compressed_ = frame_rsv1_;
    utf8_.reset();
  }
  if (++fragments_ > max_fragments_) return errc::too_many_fragments;
  // A compressed message is held to the limit on its inflated size, while it inflates; its
  // compressed size may exceed that only by what incompressible data costs (stored blocks).
  const std::uint64_t max = max_message_;
  const std::uint64_t slack = max / 256 + 1024;
  const std::uint64_t limit = !msg_compressed_           ? max
                              : max > UINT64_MAX - slack ? UINT64_MAX
                                                         : max + slack;
  if (!stream_fragments_ && len > limit - std::min(limit, msg_size_)) return errc::message_too_big;
  msg_size_ += len;
  return std::nullopt;
}

std::optional<event> connection::on_payload(char* chunk, std::size_t n) {
  if (remaining_ == 0) in_payload_ = false;
  if (is_control(static_cast<opcode>(frame_op_))) return on_control(chunk, n);
  return on_data(chunk, n);
}

std::optional<event> connection::on_data(char* chunk, std::size_t n) {
  if (msg_compressed_) return on_compressed(chunk, n);
  const bool frame_done = remaining_ == 0;
  const bool msg_done = frame_done && frame_fin_;
  const auto op = static_cast<opcode>(msg_op_);
  // Section 8.1: invalid UTF-8 fails the connection as soon as it is seen, mid-frame included.
  if (op == opcode::text) {
    if (!utf8_.feed(chunk, n) || (msg_done && !utf8_.complete())) return fail(errc::invalid_utf8);
  }
  event ev;
  ev.op = op;
  if (stream_fragments_) {
    if (n == 0 && !msg_done) return std::nullopt;
    ev.type = event_type::fragment;
    ev.last = msg_done;
    ev.data = {chunk, n};
    if (msg_done) end_message();
    return ev;
  }
  // Fast path: the whole message is this one chunk, so the event views the input directly.
  if (msg_done && !frame_split_ && (!part_ || part_->msg.empty())) {
    ev.data = {chunk, n};
    end_message();
    return ev;
  }
  // Not reserved from the frame's declared length: a header claiming 16 MiB, then one byte,
  // would buy 16 MiB.
  std::string& msg = part().msg;
  const std::size_t need = msg.size() + n;
  if (need > msg.capacity() && need > keep_capacity) grow_into_spare(msg, need, max_message_);
  detail::append_capped(msg, {chunk, n}, max_message_);
  if (!msg_done) return std::nullopt;
  ev.data = msg;
  release_msg_ = true;
  end_message();
  return ev;
}

std::optional<event> connection::on_compressed(char* chunk, std::size_t n) {
  const bool msg_done = remaining_ == 0 && frame_fin_;
  const auto op = static_cast<opcode>(msg_op_);
  std::string& msg = part().msg;
  const std::size_t before = msg.size();
  const std::size_t limit = stream_fragments_ ? before + max_message_ : max_message_;
  switch (deflate_->codec.inflate({chunk, n}, msg_done, msg, limit)) {
    case deflate_codec::result::too_big:
      return fail(errc::message_too_big);
    case deflate_codec::result::corrupt:
      return fail(errc::invalid_compressed_data);
    case deflate_codec::result::ok:
      break;
  }
  const std::string_view fresh = std::string_view(msg).substr(before);
  // Section 8.1 still holds after inflating: fail at the first invalid byte.
  if (op == opcode::text) {
    if (!utf8_.feed(fresh) || (msg_done && !utf8_.complete())) return fail(errc::invalid_utf8);
  }
  event ev;
  ev.op = op;
  if (stream_fragments_) {
    if (fresh.empty() && !msg_done) return std::nullopt;
    ev.type = event_type::fragment;
    ev.last = msg_done;
    ev.data = fresh;
    release_msg_ = true;
  } else {
    if (!msg_done) return std::nullopt;
    ev.data = msg;
    release_msg_ = true;
  }
  if (msg_done) end_message();
  return ev;
}

void connection::end_message() noexcept {
  msg_op_ = 0;
  msg_compressed_ = false;
  fragments_ = 0;
  msg_size_ = 0;
}

std::optional<event> connection::on_control(char* chunk, std::size_t n) {
  std::string_view payload;
  if (remaining_ == 0 && (!part_ || part_->ctrl.empty())) {
    payload = {chunk, n};
  } else {
    std::string& ctrl = part().ctrl;
    ctrl.append(chunk, n);
    if (remaining_ != 0) return std::nullopt;
    payload = ctrl;
    release_ctrl_ = true;
  }
  event ev;
  ev.data = payload;
  switch (static_cast<opcode>(frame_op_)) {
    case opcode::ping:
      // Section 5.5.2: answer with a pong carrying the same data, unless we already closed.
      if (!close_sent_) write_frame(opcode::pong, payload, true);
      ev.type = event_type::ping;
      return ev;
    case opcode::pong:
      ev.type = event_type::pong;
      return ev;
    default:
      return on_close_frame(payload);
  }
}

std::optional<event> connection::on_close_frame(std::string_view payload) {
  std::uint16_t code = to_int(close_code::no_status);
  std::string_view reason;
  // Section 5.5.1: a body, if present, starts with a two-byte code, then UTF-8 text.
  if (payload.size() == 1) return fail(errc::close_payload_too_short);
  if (payload.size() >= 2) {
    code = static_cast<std::uint16_t>(
        read_be(reinterpret_cast<const unsigned char*>(payload.data()), 2));
    // Section 7.4: codes outside the defined and registered ranges are a protocol error.
    if (!is_valid_on_wire(code)) return fail(errc::invalid_close_code);
    reason = payload.substr(2);
    if (!core::is_valid_utf8(reason)) return fail(errc::invalid_close_reason);
  }
  if (!close_sent_) {
    // Section 5.5.1: reply with a close frame, echoing the code we received.
    write_close(code, {});
    close_sent_ = true;
  }
  state_ = state::closed;
  free_held();
  return close_event(code, reason);
}

event connection::fail(errc why) {
  const std::uint16_t code = close_code_for(why);
  // Section 7.1.7: _Fail the WebSocket Connection_ sends a close frame with the reason code and
  // reads nothing more. The reason text helps whoever debugs the peer.
  if (!close_sent_) {
    write_close(code, ws_category().message(static_cast<int>(why)));
    close_sent_ = true;
  }
  state_ = state::closed;
  free_held();
  failed_ = true;
  in_ = in_end_;
  in_payload_ = false;
  close_code_ = code;
  close_error_ = static_cast<std::uint8_t>(why);
  return close_event(code, {}, why);
}

}  // namespace duplex::ws
