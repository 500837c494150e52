// The server socket's output: corked replies, the writev shortcut for large payloads,
// broadcast frames, and the send-queue limit.
#include "server_state.hpp"
#include "socket_conn.hpp"

namespace duplex::detail {
namespace {

// Payloads this large skip the output buffer: header and payload go out in one writev.
constexpr std::size_t writev_threshold = 16 * 1024;

}  // namespace

void socket_conn::begin_cork() noexcept {
  if (corked_ || ctx_.cork.capacity() == 0 || !ws_.pending_output().empty()) return;
  ws_.lend_output(&ctx_.cork);
  corked_ = true;
}

void socket_conn::end_cork() {
  flush_output();
  if (!corked_) return;
  ws_.lend_output(nullptr);
  corked_ = false;
}

void socket_conn::flush_output() {
  if (ws_.pending_output().empty()) return;
  if (!writable()) return ws_.clear_output();
  emit(ws_.pending_output());
  // A buffer of our own is freed (an idle socket holds none); the loop's lent one is kept.
  ws_.clear_output(corked_ ? SIZE_MAX : 0);
  check_backpressure();
}

// Every plaintext byte leaves through here: net::stream encrypts it when the socket speaks TLS.
void socket_conn::emit(std::string_view plain) {
  if (!stream().write(plain))
    ctx_.server.log("TLS error with " + remote_address() + ": " + stream().tls()->error());
}

bool socket_conn::over_limit(std::size_t extra) const noexcept {
  return queued() + extra > ctx_.server.opts.max_backpressure;
}

void socket_conn::check_backpressure() {
  // Runs after every flush: the common answer (under the limit) costs no call.
  if (queued() <= ctx_.server.opts.max_backpressure ||
      ctx_.server.opts.policy != backpressure_policy::close)
    return;
  if (ws_.done()) return;
  ws_.abort(ws::errc::send_queue_full);
  stream().fail();  // on_close (1008) runs from the next readiness, not from here
}

send_result socket_conn::send_message(std::string_view data, ws::opcode op, bool compress) {
  if (!may_send()) return result(send_status::closed);
  const auto& opts = ctx_.server.opts;
  if (opts.policy == backpressure_policy::drop && queued() != 0 &&
      over_limit(data.size() + ws::max_header_size))
    return result(send_status::dropped);
  const bool compressing = compress && ws_.compresses() && data.size() >= opts.deflate.min_size;
  // Between the fragments of a message of ours, ws_ holds whole messages back (RFC 6455
  // section 5.4), so the writev shortcut, which goes around it, is closed then.
  if (data.size() < writev_threshold || compressing || stream().secure() ||
      !ws_.frame_insertable()) {
    const bool lend = !corked_ && ws_.pending_output().empty();
    if (lend) ws_.lend_output(&ctx_.scratch);
    ws_.send(op, data, compressing);
    if (lend) {
      flush_output();
      ws_.lend_output(nullptr);
    }
    // Held behind a fragmented message, it is in no queue yet, but counts toward the limit.
    if (!ws_.frame_insertable()) check_backpressure();
  } else {
    flush_output();
    char header[ws::max_header_size];
    const std::size_t hn = ws_.frame_header(header, op, data.size());
    stream().write_pair({header, hn}, data);
    check_backpressure();
  }
  if (stream().broken()) return result(send_status::closed);
  return result(queued() == 0 ? send_status::sent : send_status::buffered);
}

send_result socket_conn::send_piece(std::string_view data, ws::opcode op, bool fin) {
  if (!may_send() || !ws_.send_fragment(op, data, fin)) return result(send_status::closed);
  if (!corked_) flush_output();
  if (stream().broken()) return result(send_status::closed);
  return result(queued() == 0 ? send_status::sent : send_status::buffered);
}

bool socket_conn::send_ping(std::string_view data) {
  if (!may_send() || !ws_.ping(data)) return false;
  if (!corked_) flush_output();
  return true;
}

void socket_conn::start_close(std::uint16_t code, std::string_view reason) {
  if (phase_ != phase::websocket || !ws_.close(code, reason)) return;
  set_deadline(ctx_.closing_deadline());
  if (!corked_) flush_output();
}

void socket_conn::abort_now() {
  if (phase_ != phase::websocket || ws_.done()) return;
  ws_.abort(ws::errc::connection_lost);
  ws_.clear_output();
  stream().fail();
}

bool socket_conn::deliver_shared(const net::shared_bytes& frame) {
  if (!may_send()) return false;
  if (ctx_.server.opts.policy == backpressure_policy::drop && queued() != 0 &&
      over_limit(frame->size()))
    return false;
  // ws_ decides: behind replies batched in this callback, or held while a fragmented message
  // of ours is under way (RFC 6455 section 5.4), the frame is copied; otherwise it is ours to
  // write.
  const auto admitted = ws_.admit_frame(*frame, corked_);
  if (admitted == ws::connection::admission::refused) return false;
  if (admitted == ws::connection::admission::buffered) {
    check_backpressure();
    return !stream().broken();
  }
  if (stream().secure()) {  // ciphertext is per socket: the shared frame is encrypted for this one
    emit(*frame);
    check_backpressure();
    return !stream().broken();
  }
  // Queued by reference and written at the end of the loop iteration, so that every broadcast
  // this iteration makes reaches a subscriber in one writev instead of one send each.
  stream().queue_shared(frame);
  if (!deferred_ && !stream().writing()) {
    deferred_ = true;
    ctx_.deferred.push_back(this);
  }
  check_backpressure();
  return true;
}

void socket_conn::flush_deferred() {
  deferred_ = false;
  if (!writable() || stream().writing() || stream().drained()) return;
  if (!stream().flush()) return;
  maybe_finish();
}

}  // namespace duplex::detail
