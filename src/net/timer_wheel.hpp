// A hashed timer wheel: deadlines that cost O(1) to arm, move and cancel, and turns that cost
// what comes due, not how many deadlines (or sockets) there are.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace duplex::net {

// Embedded in whatever owns a deadline (a socket): no allocation to arm it.
struct wheel_node {
  wheel_node* prev = nullptr;
  wheel_node* next = nullptr;
  std::uint64_t tick = 0;  // the wheel tick it waits for; 0: not armed
  bool armed() const noexcept { return tick != 0; }
};

// Time is cut into ticks of `resolution` ms; a node due at D waits in tick ceil(D / resolution),
// in slot tick % slots. A node is never handed out before its due time, and at most one tick
// (plus the caller's own latency) after it. Nodes due more than one revolution ahead share a
// slot with nearer ones and are looked at, and put back, once per revolution.
class timer_wheel {
 public:
  // `slots` is rounded up to a power of two.
  explicit timer_wheel(std::uint64_t resolution_ms, std::size_t slots = 512);
  ~timer_wheel();
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  // Arms `n` for `due_ms`, moving it if it was armed already. A time already passed waits for
  // the next turn.
  void arm(wheel_node& n, std::uint64_t due_ms) noexcept;
  void cancel(wheel_node& n) noexcept;
  // The ms the tick of an armed node starts at: it is handed out at or after that time.
  std::uint64_t time_of(const wheel_node& n) const noexcept { return n.tick * resolution_; }
  // Whether arming `n` for `due_ms` would move it earlier: the one case a lazy owner must act
  // on (a later deadline can wait until the node's present tick comes, and be re-armed then).
  bool earlier(const wheel_node& n, std::uint64_t due_ms) const noexcept {
    return !n.armed() || tick_for(due_ms) < n.tick;
  }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint64_t resolution() const noexcept { return resolution_; }
  // When the next turn has something to look at (a lower bound of the next due time), in ms;
  // 0 when the wheel is empty.
  std::uint64_t next_turn() const noexcept;

  // Hands `fire(node&)` every node whose tick has come by `now_ms`, disarmed first; `fire` may
  // arm or cancel any node, the one it was handed included (a node armed from `fire` waits for
  // a later turn). Returns how many nodes were handed out.
  template <class F>
  std::size_t advance(std::uint64_t now_ms, F&& fire);

 private:
  std::uint64_t tick_for(std::uint64_t due_ms) const noexcept {
    const std::uint64_t t = (due_ms + resolution_ - 1) / resolution_;
    return t < cursor_ ? cursor_ : t;
  }
  std::size_t slot_of(const wheel_node* sentinel) const noexcept {
    return static_cast<std::size_t>(sentinel - slots_.get());
  }
  bool is_sentinel(const wheel_node* p) const noexcept {
    return p >= slots_.get() && p < slots_.get() + mask_ + 1;
  }
  void link(wheel_node& n, std::uint64_t tick) noexcept;
  void unlink(wheel_node& n) noexcept;
  // Moves slot `s`'s nodes to `into` (an empty list's sentinel).
  void take_slot(std::size_t s, wheel_node& into) noexcept;

  std::uint64_t resolution_;
  std::size_t mask_;
  std::unique_ptr<wheel_node[]> slots_;  // sentinels of circular lists
  std::vector<std::uint64_t> busy_;      // a bit per slot that holds a node
  std::uint64_t cursor_ = 1;             // the first tick not yet turned
  std::size_t size_ = 0;
};

template <class F>
std::size_t timer_wheel::advance(std::uint64_t now_ms, F&& fire) {
  const std::uint64_t now_tick = now_ms / resolution_;
  if (now_tick < cursor_) return 0;
  const std::uint64_t first = cursor_;
  // Past one revolution every slot has been looked at once: nodes of every tick are there.
  const std::uint64_t turns = std::min<std::uint64_t>(now_tick - first + 1, mask_ + 1);
  // Nodes armed from `fire` land after now_tick, so they are not handed out in this call.
  cursor_ = now_tick + 1;
  std::size_t fired = 0;
  if (size_ == 0) return 0;
  for (std::uint64_t t = first; t < first + turns; ++t) {
    wheel_node due;  // this slot's nodes, detached: `fire` may re-arm into the same slot
    due.prev = due.next = &due;
    take_slot(static_cast<std::size_t>(t & mask_), due);
    while (due.next != &due) {
      wheel_node& n = *due.next;
      n.prev->next = n.next;
      n.next->prev = n.prev;
      if (n.tick > now_tick) {  // a later revolution's: back into its slot
        link(n, n.tick);
        continue;
      }
      n.tick = 0;
      n.prev = n.next = nullptr;
      --size_;
      ++fired;
      fire(n);
    }
  }
  return fired;
}

}  // namespace duplex::net
