// The sans-I/O WebSocket protocol state machine (RFC 6455): bytes in, events and bytes out.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "duplex/core/random.hpp"
#include "duplex/core/utf8.hpp"
#include "duplex/ws/deflate.hpp"
#include "duplex/ws/error.hpp"
#include "duplex/ws/frame.hpp"
#include "duplex/ws/types.hpp"

namespace duplex::ws {

/// What an event reports.
enum class event_type : std::uint8_t { message, fragment, ping, pong, close };

/// One thing the peer did, from connection::next_event().
struct event {
  /// What happened.
  event_type type = event_type::message;
  opcode op = opcode::text;  ///< message and fragment: text or binary
  bool last = true;          ///< fragment: the final piece of its message
  std::uint16_t code = 0;    ///< close: the peer's code (1005 if none), ours on failure, or 1006
  std::string_view data;     ///< payload, or the close reason
  std::error_code error;     ///< close: why, when the connection failed instead of closing cleanly
};

/// @brief The RFC 6455 protocol for one connection, sans I/O: bytes in, events out, commands
/// in, bytes to write out. Server or client role; permessage-deflate when enabled.
class connection {
 public:
  /// `rng` masks a client's frames (a system_random when null).
  explicit connection(ws::role r, limits l = {}, core::random_source* rng = nullptr);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Turns on permessage-deflate with the parameters the handshake agreed (RFC 7692). Messages
  /// of at least `min_size` bytes are sent compressed unless a send asks otherwise.
  /// `memory`: the compressor's tier when it keeps context between messages.
  void enable_deflate(const deflate_params& p, int level = 6, std::size_t min_size = 32,
                      compressor_memory memory = compressor_memory::kib_256);
  /// Whether permessage-deflate is on.
  bool compresses() const noexcept { return deflate_ != nullptr; }
  /// The window a message compressed once for many peers (deflate_message()) must use to be
  /// sent to this one as it is, or 0 when this peer cannot take such a frame: no deflate, or
  /// a compressor that keeps context between messages (it needs its own compression).
  int shared_deflate_bits() const noexcept {
    return deflate_ ? deflate_->codec.shared_window_bits() : 0;
  }

  // --- input ---
  /// Hands bytes to the parser. They may be rewritten in place (unmasked), and events may view
  /// them: keep them alive and unchanged until next_event() returns nullopt.
  void receive(std::span<char> bytes) noexcept;
  /// The next event, parsing as far as needed. A returned view stays valid until the next call.
  std::optional<event> next_event();
  /// The transport ended. If the close handshake was not done, a close event with 1006 follows.
  void receive_eof() noexcept;
  /// The glue gives up on the connection (a timeout, a full send queue): no frame is sent, a
  /// close event carrying the error's code follows.
  void abort(errc why) noexcept;

  // --- commands; each returns false when the state forbids it ---
  /// send(text, data).
  bool send_text(std::string_view data) { return send(opcode::text, data); }
  /// send(binary, data).
  bool send_binary(std::string_view data) { return send(opcode::binary, data); }
  /// A whole message, compressed when deflate is on and it is at least min_size bytes.
  bool send(opcode op, std::string_view data);
  /// The per-message switch: `compress` false sends this message uncompressed.
  bool send(opcode op, std::string_view data, bool compress);
  /// Pieces of one message: `op` of the first piece names the message type.
  bool send_fragment(opcode op, std::string_view data, bool fin);
  /// A ping of at most 125 bytes.
  bool ping(std::string_view data = {});
  /// An unsolicited pong of at most 125 bytes.
  bool pong(std::string_view data = {});
  /// Starts the close handshake. `code` 1005 sends a close frame with no code at all.
  bool close(std::uint16_t code = 1000, std::string_view reason = {});
  /// Server role only: writes the header of a whole unmasked data frame into `out`, for a caller
  /// that writes header and payload itself (writev). Returns the header size, or 0 if not allowed
  /// now (closing, or a fragmented message is being sent: see frame_insertable()).
  std::size_t frame_header(char* out, opcode op, std::size_t size) noexcept;
  /// A whole data frame built elsewhere (a broadcast framed once for many sockets) may go to the
  /// wire now. RFC 6455 section 5.4: not between the fragments of a message we are sending.
  bool frame_insertable() const noexcept { return can_send() && !sending_fragments_; }
  /// Adds such a frame to the output, or, while a fragmented message is being sent, holds it (as
  /// send() holds whole messages) until that message's last fragment has been written.
  bool insert_frame(std::string_view frame);
  /// Every pre-built frame passes here. `direct`: nothing of ours waits before it, so the caller
  /// may write it itself, by reference (one buffer for every subscriber); `buffered`: it was
  /// copied behind our output (`batching`: the caller is gathering output in our buffer) or
  /// held behind a fragmented message; `refused`: we are closing, no data frame may go out.
  enum class admission : std::uint8_t { refused, direct, buffered };
  /// See admission.
  admission admit_frame(std::string_view frame, bool batching);
  /// Bytes of whole messages held behind a fragmented message still being sent.
  std::size_t held_bytes() const noexcept { return held_ ? held_->size() : 0; }

  // --- output ---
  /// Bytes to write to the transport.
  std::string_view pending_output() const noexcept {
    return out_ ? std::string_view(*out_) : std::string_view();
  }
  /// The first `n` pending bytes were written.
  void consume_output(std::size_t n) noexcept {
    if (out_) out_->erase(0, n);
  }
  /// All of it was written (or is abandoned). The connection's own buffer is freed once its
  /// capacity is past `keep` bytes (0: always, so that an idle connection holds none).
  void clear_output(std::size_t keep = SIZE_MAX) noexcept;
  /// Output goes to `buf` (a caller batching the writes of many connections lends one shared
  /// buffer) until lend_output(nullptr) takes the connection's own back. Lend and take back only
  /// while nothing is pending: what was written to a lent buffer stays there.
  void lend_output(std::string* buf) noexcept { out_ = buf ? buf : own_out_.get(); }

  // --- status ---
  /// Open, closing or closed.
  ws::state state() const noexcept { return state_; }
  /// Server or client.
  ws::role role() const noexcept { return role_; }
  /// Whether data may be sent (open).
  bool can_send() const noexcept { return state_ == state::open; }
  /// We sent a close frame and wait for the peer's: arm a close timer.
  bool close_expected() const noexcept { return state_ == state::closing; }
  /// Nothing more will be read: the caller flushes pending_output() and ends the transport.
  bool done() const noexcept { return state_ == state::closed; }
  /// Whether the connection ended by failure rather than a close handshake.
  bool failed() const noexcept { return failed_; }
  /// Memory held for a message being gathered from its frames (or inflated): at most about the
  /// message limit, however the peer splits it.
  std::size_t buffered_message_bytes() const noexcept { return part_ ? part_->msg.capacity() : 0; }
  /// Memory held out of line while a frame or message is split across reads (0 when idle).
  bool holds_partial() const noexcept { return part_ != nullptr; }
  /// The calling thread's spare message buffer: the largest one (up to 4 MiB) a connection
  /// gave up after a message over 64 KiB, kept so that the next large message does not grow a
  /// fresh one (it is taken by a message that fits it and the receiving connection's limit).
  static std::size_t spare_bytes() noexcept;

 private:
  enum class header_status { ok, more, error };
  static constexpr std::size_t keep_capacity = 64 * 1024;  ///< larger buffers are freed after use

  // What a connection needs only while a frame or a message is split across reads (or being
  // inflated): allocated then, and freed once nothing is in it, so that an idle connection
  // holds none of it. A connection that compresses keeps it (it holds a codec anyway).
  struct partial {
    std::string msg;   // a message gathered from its frames, or inflated
    std::string ctrl;  // a control frame's payload
    std::uint8_t hdr[max_header_size]{};
    std::uint8_t hdr_have = 0;  // bytes of a header split across reads
  };
  struct deflate_part {
    deflate_part(bool server, const deflate_params& p, int level, std::size_t min,
                 compressor_memory memory)
        : codec(server, p, level, memory), min_size(min) {}
    deflate_codec codec;
    std::size_t min_size;
  };

  header_status read_header();
  bool fast_header() noexcept;
  bool fast_message(event& ev);
  header_status parse_header(const unsigned char* h);
  std::optional<errc> check_data_frame(std::uint8_t op, std::uint64_t len);
  std::optional<event> on_payload(char* chunk, std::size_t n);
  std::optional<event> on_data(char* chunk, std::size_t n);
  std::optional<event> on_compressed(char* chunk, std::size_t n);
  std::optional<event> on_control(char* chunk, std::size_t n);
  std::optional<event> on_close_frame(std::string_view payload);
  event fail(errc why);
  event pending_close() const;
  partial& part();
  std::string& out();
  std::string& held();
  void free_held() noexcept;
  void end_message() noexcept;
  void release_delivered() noexcept;
  void write_frame(opcode op, std::string_view data, bool fin, std::uint8_t rsv = 0);
  void write_frame_to(std::string& to, opcode op, std::string_view data, bool fin,
                      std::uint8_t rsv);
  void write_close(std::uint16_t code, std::string_view reason);

  /// Input being parsed.
  char* in_ = nullptr;
  char* in_end_ = nullptr;
  std::uint64_t remaining_ = 0;  // of the frame in progress
  std::uint64_t msg_size_ = 0;   // of the message in progress
  std::uint64_t max_message_;    // limits, kept compact
  std::uint32_t max_fragments_;
  std::uint32_t fragments_ = 0;
  core::random_source* rng_;
  std::unique_ptr<partial> part_;
  std::string* out_ = nullptr;  // own_out_'s buffer, a lent one, or none yet
  std::unique_ptr<std::string> own_out_;
  // Whole messages sent while a fragmented one is in progress; null when there are none.
  std::unique_ptr<std::string> held_;
  std::unique_ptr<deflate_part> deflate_;
  mask_key key_{};
  core::utf8_validator utf8_;
  std::uint16_t close_code_ = 0;  // the close event to report (pending_close_), and why
  std::uint8_t close_error_ = 0;
  std::uint8_t frame_op_ = 0;
  std::uint8_t phase_ = 0;   // of the mask, in the frame's payload
  std::uint8_t msg_op_ = 0;  // message in progress; 0: none
  ws::role role_;
  ws::state state_ = state::open;
  // The frame's flags, written for every frame, are whole bytes (a bit-field write is a
  // read-modify-write on the per-message path); the rarer ones share a byte.
  bool in_payload_ = false;
  bool frame_fin_ = false;
  bool frame_masked_ = false;
  bool frame_rsv1_ = false;
  bool frame_split_ = false;  // a chunk of this frame's payload came in an earlier read
  bool msg_compressed_ = false;
  bool stream_fragments_ : 1;
  bool sending_fragments_ : 1 = false;
  bool failed_ : 1 = false;
  bool close_sent_ : 1 = false;
  bool pending_close_ : 1 = false;  // a close event waits to be reported
  bool release_msg_ : 1 = false;
  bool release_ctrl_ : 1 = false;
};

}  // namespace duplex::ws
