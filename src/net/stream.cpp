#include "stream.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "send_batch.hpp"

namespace duplex::net {

std::string& tls_plain_buffer() noexcept {
  thread_local std::string plain;
  return plain;
}

namespace {

io_events interest(bool read, bool write) noexcept {
  return (read ? io_events::readable : io_events::none) |
         (write ? io_events::writable : io_events::none);
}

std::string& tls_cipher_buffer() noexcept {
  thread_local std::string cipher;
  return cipher;
}

}  // namespace

stream::~stream() {
  if (sending_) settle_quietly();
  if (fd_ < 0) return;
  // io_uring, unlike epoll, keeps polling a closed descriptor's file until told.
  loop_.close(fd_);
}

void stream::watch(bool read, bool write, bool receive) {
  read_ = read;
  write_ = write;
  receiving_ = receive && loop_.input() != nullptr &&
               io.recv.load(std::memory_order_relaxed) == &::recv &&
               loop_.add_receiving(fd_, interest(read, write), this);
  if (!receiving_) loop_.add(fd_, interest(read, write), this);
}

void stream::set_interest(bool read, bool write) {
  if ((read_ == read && write_ == write) || fd_ < 0) return;
  read_ = read;
  write_ = write;
  loop_.modify(fd_, interest(read, write), this);
}

bool stream::write_tls(std::string_view plain) {
  if (broken_ || plain.empty()) return true;
  if (!tls_->session.handshake_done()) {
    tls_->early += plain;
    return true;
  }
  // Encrypted and written a piece at a time: the peer decrypts the first records of a large
  // message while the last are being encrypted here, instead of waiting for all of them (a
  // 1 MiB wss echo spent a third of its time with each side waiting for the other).
  constexpr std::size_t piece = 64 * 1024;
  std::string& cipher = tls_cipher_buffer();
  do {
    const std::string_view part = plain.substr(0, piece);
    plain.remove_prefix(part.size());
    cipher.clear();
    if (!tls_->session.send(part, cipher)) {
      fail();
      return false;
    }
    write_wire(cipher);
  } while (!plain.empty() && !broken_);
  return true;
}

void stream::write_wire(std::string_view bytes) {
  if (broken_ || fd_ < 0 || bytes.empty()) return;
  // A second write behind a batched one sends the batch first: queued behind it, the bytes
  // would count as refused by the kernel (a sender told "buffered" and waiting for a drain
  // that no write readiness would report).
  if (sending_) settle();
  if (broken_ || fd_ < 0) return;
  std::size_t written = 0;
  if (queue_.empty()) {
    // A small write joins the iteration's batch (one system call for all of them), unless a
    // test's hook stands in for sendmsg: the hook must see every write.
    send_batch* batch = loop_.batch();
    if (batch != nullptr && bytes.size() <= send_batch::max_write && batch->open_for_writes() &&
        io.sendmsg.load(std::memory_order_relaxed) == &::sendmsg && batch->add(*this, fd_, bytes)) {
      sending_ = true;
      return;
    }
    const write_result w = write_bytes(fd_, bytes);
    if (w.error) return fail();
    written = w.written;
  }
  if (written < bytes.size()) {
    queue_.push(bytes.substr(written));
    want_write(true);
  }
}

void stream::write_pair(std::string_view header, std::string_view payload) {
  if (broken_ || fd_ < 0) return;
  if (sending_) settle();  // the batched write goes first
  std::size_t written = 0;
  if (queue_.empty()) {
    iovec iov[2] = {{const_cast<char*>(header.data()), header.size()},
                    {const_cast<char*>(payload.data()), payload.size()}};
    const write_result w = write_vector(fd_, iov, 2);
    if (w.error) return fail();
    written = w.written;
  }
  if (written < header.size()) queue_.push(header.substr(written));
  const std::size_t pw = written > header.size() ? written - header.size() : 0;
  if (pw < payload.size()) {
    queue_.push(payload.substr(pw));
    want_write(true);
  }
}

bool stream::flush() {
  // Behind a batched write the queue waits for its outcome, and on_sent flushes it then.
  if (broken_ || fd_ < 0 || sending_) return !broken_;
  const write_result w = queue_.flush(fd_);
  if (w.error) {
    fail();
    return false;
  }
  want_write(!queue_.empty());
  return true;
}

void stream::settle() {
  if (send_batch* batch = loop_.batch()) batch->flush();
  sending_ = false;  // a batch that is reporting already (a write from on_sent) has none left
}

void stream::settle_quietly() noexcept {
  try {
    settle();
  } catch (...) {
    sending_ = false;  // the batch is sent; only this stream's answer to it failed
  }
}

void stream::on_sent(int error, std::string_view rest) noexcept {
  sending_ = false;
  if (broken_ || fd_ < 0) return;
  if (error != 0) return fail();
  try {
    if (!rest.empty()) queue_.push_front(rest);
    if (!queue_.empty()) flush();
  } catch (...) {
    fail();  // no memory for the rest: this stream cannot keep its order, the others can
  }
}

void stream::use_tls(const std::shared_ptr<tls_context>& ctx, bool server,
                     const std::string& host) {
  tls_ = std::make_unique<tls_part>(ctx, server, host);
}

void stream::start_tls() {
  std::string hello;
  tls_->session.start(hello);
  write_wire(hello);
}

void stream::abandon() noexcept {
  broken_ = true;
  // A batched write was written as far as the writer knows: it goes (on_sent, seeing the
  // stream broken, sends nothing queued behind it).
  if (sending_) settle_quietly();
  queue_.clear();
  if (tls_) tls_->early.clear();
}

void stream::fail() noexcept {
  abandon();
  if (fd_ >= 0) sys::shutdown(fd_, SHUT_RDWR);
}

bool stream::close_notify() {
  if (!tls_ || tls_->closed) return false;
  tls_->closed = true;
  std::string cipher;
  tls_->session.close_notify(cipher);
  write_wire(cipher);
  return true;
}

void stream::shutdown_write() noexcept {
  if (sending_) settle_quietly();  // the FIN after the bytes written before it
  if (fd_ >= 0) sys::shutdown(fd_, SHUT_WR);
}

void stream::close(bool reset) noexcept {
  if (sending_) settle_quietly();
  if (fd_ < 0) return;
  if (reset) {
    loop_.remove(fd_);
    close_socket(fd_);
  } else {
    loop_.close(fd_);
  }
  fd_ = -1;
  receiving_ = false;
  queue_.clear();
}

}  // namespace duplex::net
