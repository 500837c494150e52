// Where a loop's sockets live: blocks of 64 slots, so that a socket costs its own size and no
// more (no allocator header per socket, no holes left among freed handshake buffers), and the
// loop walks its sockets without a list threaded through every one of them.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <new>
#include <utility>
#include <vector>

namespace duplex::detail {

template <class T>
class slab {
 public:
  static constexpr std::size_t per_block = 64;

  slab() = default;
  // The owner destroys every object first; what is left is only storage.
  ~slab() {
    for (block* b : blocks_)
      delete b;
  }
  slab(const slab&) = delete;
  slab& operator=(const slab&) = delete;

  template <class... Args>
  T* make(Args&&... args) {
    block& b = with_room();
    const int i = std::countr_one(b.live);
    T* p = new (b.slot(i)) T(std::forward<Args>(args)...);  // a throw leaves the slot free
    b.live |= std::uint64_t{1} << i;
    ++size_;
    return p;
  }

  void destroy(T* p) noexcept {
    const auto at = std::upper_bound(blocks_.begin(), blocks_.end(), p,
                                     [](const T* q, const block* b) {
                                       return std::less<const void*>()(q, b->slots);
                                     }) -
                    1;
    block& b = **at;
    const auto i = static_cast<int>((reinterpret_cast<unsigned char*>(p) - b.slots) / sizeof(T));
    p->~T();
    b.live &= ~(std::uint64_t{1} << i);
    --size_;
    hint_ = static_cast<std::size_t>(at - blocks_.begin());
    // A connection storm's blocks go back once emptied; one stays for the next socket.
    if (b.live == 0 && blocks_.size() > 1) {
      delete &b;
      blocks_.erase(at);
      hint_ = 0;
    }
  }

  // Calls f(T&) for every object, in address order. f may neither make nor destroy one (a
  // loop's sockets are destroyed at the end of its iteration, never during a walk).
  template <class F>
  void for_each(F&& f) {
    for (block* b : blocks_)
      for (std::uint64_t live = b->live; live != 0; live &= live - 1)
        f(*std::launder(reinterpret_cast<T*>(b->slot(std::countr_zero(live)))));
  }

  std::size_t size() const noexcept { return size_; }
  std::size_t blocks() const noexcept { return blocks_.size(); }

 private:
  struct block {
    std::uint64_t live = 0;  // a bit per slot that holds an object
    alignas(T) unsigned char slots[per_block * sizeof(T)];
    unsigned char* slot(int i) noexcept { return slots + static_cast<std::size_t>(i) * sizeof(T); }
  };

  block& with_room() {
    for (std::size_t n = 0; n < blocks_.size(); ++n, hint_ = (hint_ + 1) % blocks_.size())
      if (~blocks_[hint_]->live != 0) return *blocks_[hint_];
    auto* b = new block;
    const auto at = std::upper_bound(blocks_.begin(), blocks_.end(), b, std::less<const block*>());
    hint_ = static_cast<std::size_t>(at - blocks_.begin());
    try {
      blocks_.insert(at, b);
    } catch (...) {
      delete b;
      throw;
    }
    return *b;
  }

  std::vector<block*> blocks_;  // by address, for destroy's lookup
  std::size_t hint_ = 0;        // a block that likely has room
  std::size_t size_ = 0;
};

}  // namespace duplex::detail
