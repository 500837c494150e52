// One connected socket for either role: reads into the loop's buffer, optional TLS,
// write-then-queue, write readiness, failure, close_notify and the half-close.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "duplex/net/event_loop.hpp"
#include "duplex/net/send_queue.hpp"
#include "duplex/net/tls.hpp"
#include "io_calls.hpp"
#include "receiver.hpp"

namespace duplex::net {

// The stream is a concrete class on purpose: the per-message path (read, parse, callback,
// corked write) makes inline calls into it and no virtual one. Its only boundary is the
// system-call table of io_calls.hpp, one indirect call per syscall, which is where tests fake
// the kernel (fail_count makes each call fail in turn; tests/support/fake_wire.hpp stands in
// for it). The owner derives from it and implements on_io: the loop calls the owner, and the
// stream needs no pointer back to it (an idle socket pays for no field it does not use).
class stream : public io_handler {
 public:
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  int fd() const noexcept { return fd_; }
  bool is_open() const noexcept { return fd_ >= 0; }
  // A write failed, or the owner gave up: nothing more goes out.
  bool broken() const noexcept { return broken_; }
  bool secure() const noexcept { return tls_ != nullptr; }
  // Input comes read already by the kernel (see watch()).
  bool receiving() const noexcept { return receiving_; }
  const tls_session* tls() const noexcept { return tls_ ? &tls_->session : nullptr; }
  // Speaks TLS from now on (tls_session's arguments; it may throw as that does).
  void use_tls(const std::shared_ptr<tls_context>& ctx, bool server, const std::string& host = {});
  // A descriptor for a stream made before it had one (a client about to connect), or a new
  // one once the last was closed (a client that reconnects): a plain, unbroken stream again.
  void adopt(int fd) noexcept {
    if (sending_) settle_quietly();
    fd_ = fd;
    broken_ = read_ = write_ = receiving_ = false;
    queue_.clear();
    tls_.reset();
  }

  // --- readiness ---
  // Registers the descriptor for the readiness asked for; later changes go through these.
  // With `receive` and a loop that offers it (io_uring), input comes read already by the
  // kernel instead of through recv; an owner that reads the socket itself (a PROXY header,
  // byte by byte) passes false. So does a test's hook standing in for recv.
  void watch(bool read, bool write, bool receive = true);
  void set_interest(bool read, bool write);
  void want_write(bool on) { set_interest(read_, on); }
  bool writing() const noexcept { return write_; }

  // --- input ---
  // A few reads per wake-up at most, so one busy socket cannot starve the others. Each read
  // (decrypted first with TLS) goes to sink.on_stream_data(char*, size_t); the end of the
  // stream (FIN, an error, the peer's close_notify) to sink.on_stream_end(); a TLS failure to
  // sink.on_stream_tls_error(why). Reading stops as soon as sink.stream_reading() is false.
  template <class Sink>
  void read(Sink& sink);

  // --- output ---
  // Plaintext for the peer: encrypted with TLS (held until the TLS handshake is done), then
  // written at once if nothing waits before it, the rest queued. False only when encryption
  // failed; the stream is then broken and tls()->error() says why.
  bool write(std::string_view plain) {
    if (tls_) return write_tls(plain);
    write_wire(plain);  // plaintext, on every reply: no call beyond the one that writes
    return true;
  }
  // A header and a payload in one writev (no TLS).
  void write_pair(std::string_view header, std::string_view payload);
  // Queued by reference and not written: the owner flushes it later (a broadcast).
  void queue_shared(const shared_bytes& frame) { queue_.push(frame); }
  // The queue to the kernel; write readiness follows what is left. False if the write failed.
  bool flush();
  // Asked on every send: an empty queue (the common case) answers without a call. A write
  // waiting in the loop's batch is not counted: it goes out at the iteration's end, and what
  // the kernel does not take then comes back into the queue.
  std::size_t queued() const noexcept { return queue_.empty() ? 0 : queue_.bytes(); }
  // Nothing waits, the batched write included (its outcome is settled first).
  bool drained() {
    if (sending_) settle();
    return queue_.empty();
  }
  // The outcome of a batched write (send_batch): `error` is an errno (0: none), `rest` what
  // the kernel did not take, which goes to the front of the queue.
  void on_sent(int error, std::string_view rest) noexcept;
  // TLS: starts a client's handshake.
  void start_tls();

  // --- ending ---
  // Gives up: nothing more goes out, and both directions are shut down, so that the next
  // readiness reports the end (no callback runs from inside a write).
  void fail() noexcept;
  // Nothing more goes out, and what waits is dropped; the socket is left as it is.
  void abandon() noexcept;
  // Our TLS close_notify, once: true on the call that ended TLS (nothing is written after a
  // TLS failure), false without TLS or when it was ended already.
  bool close_notify();
  void shutdown_write() noexcept;
  // Unregisters and closes the descriptor; `reset` drops unsent bytes with a reset.
  void close(bool reset) noexcept;

 protected:
  stream(event_loop& loop, int fd) noexcept : loop_(loop), fd_(fd) {}
  ~stream();

 private:
  template <class Sink>
  void decrypt(Sink& sink, char* data, std::size_t n);
  template <class Sink>
  void deliver(Sink& sink, char* data, std::size_t n) {
    if (tls_) return decrypt(sink, data, n);
    sink.on_stream_data(data, n);
  }
  template <class Sink>
  void take_input(Sink& sink);
  // Sends the loop's batch now, so that this stream's write has its outcome.
  void settle();
  void settle_quietly() noexcept;
  // Bytes for the wire as they are (ciphertext, or plaintext without TLS).
  void write_wire(std::string_view bytes);
  bool write_tls(std::string_view plain);

  event_loop& loop_;
  int fd_;
  // Bits, so that the stream stays 40 bytes beside the descriptor.
  bool read_ : 1 = false;
  bool write_ : 1 = false;
  bool broken_ : 1 = false;
  bool sending_ : 1 = false;    // a write waits in the loop's send_batch
  bool receiving_ : 1 = false;  // input comes through the loop's receiver, not recv
  send_queue queue_;
  // Behind a pointer: a plain socket pays 8 bytes for TLS.
  struct tls_part {
    tls_part(const std::shared_ptr<tls_context>& ctx, bool server, const std::string& host)
        : session(ctx, server, host) {}
    tls_session session;
    std::string early;  // plaintext written before the TLS handshake was done
    bool closed = false;
  };
  std::unique_ptr<tls_part> tls_;
};

// Buffers for the TLS bytes of one step on this thread: a step never re-enters another.
std::string& tls_plain_buffer() noexcept;

template <class Sink>
void stream::read(Sink& sink) {
  if (receiving_) return take_input(sink);
  const std::span<char> buf = loop_.receive_buffer();
  for (int i = 0; i < 4 && sink.stream_reading(); ++i) {
    const ssize_t n = sys::recv(fd_, buf.data(), buf.size(), 0);
    if (n > 0) {
      deliver(sink, buf.data(), static_cast<std::size_t>(n));
      // A short read means the kernel had no more: skip the recv that would say EAGAIN.
      if (static_cast<std::size_t>(n) < buf.size()) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    sink.on_stream_end();
    return;
  }
}

// Everything the kernel has read for this socket, piece by piece, while the owner reads: a
// piece's buffer goes back to the kernel once it is parsed (the parser copies what it keeps).
template <class Sink>
void stream::take_input(Sink& sink) {
  receiver& input = *loop_.input();
  receiver::piece p;
  while (sink.stream_reading() && input.next(fd_, p)) {
    struct give_back {
      receiver& input;
      const receiver::piece& p;
      ~give_back() { input.release(p); }
    } guard{input, p};
    deliver(sink, p.data, p.size);
  }
  if (fd_ >= 0 && sink.stream_reading() && input.ended(fd_)) sink.on_stream_end();
}

template <class Sink>
void stream::decrypt(Sink& sink, char* data, std::size_t n) {
  std::string& plain = tls_plain_buffer();
  plain.clear();
  std::string cipher;
  tls_session& tls = tls_->session;
  const bool ok = tls.receive({data, n}, plain, cipher);
  write_wire(cipher);  // handshake records and alerts
  if (!ok) return sink.on_stream_tls_error(tls.error());
  if (!tls_->early.empty() && tls.handshake_done() && !write(std::exchange(tls_->early, {})))
    return;
  if (!plain.empty()) sink.on_stream_data(plain.data(), plain.size());
  // The peer's close_notify: it sends nothing more, as a FIN would say (a TLS stack that does
  // not also close TCP would otherwise keep the socket waiting).
  if (tls.peer_closed() && sink.stream_reading()) sink.on_stream_end();
}

}  // namespace duplex::net
