#include "timer_wheel.hpp"

#include <bit>

namespace duplex::net {

timer_wheel::timer_wheel(std::uint64_t resolution_ms, std::size_t slots)
    : resolution_(std::max<std::uint64_t>(resolution_ms, 1)),
      mask_(std::bit_ceil(std::max<std::size_t>(slots, 64)) - 1),
      slots_(std::make_unique<wheel_node[]>(mask_ + 1)),
      busy_((mask_ + 1) / 64, 0) {
  for (std::size_t i = 0; i <= mask_; ++i)
    slots_[i].prev = slots_[i].next = &slots_[i];
}

// The owners' nodes outlive no wheel in practice (a loop's sockets go first), but a node left
// armed must not point into freed sentinels.
timer_wheel::~timer_wheel() {
  for (std::size_t i = 0; i <= mask_; ++i) {
    for (wheel_node* p = slots_[i].next; p != &slots_[i];) {
      wheel_node* next = p->next;
      p->prev = p->next = nullptr;
      p->tick = 0;
      p = next;
    }
  }
}

void timer_wheel::link(wheel_node& n, std::uint64_t tick) noexcept {
  const auto s = static_cast<std::size_t>(tick & mask_);
  wheel_node& head = slots_[s];
  n.tick = tick;
  n.prev = head.prev;
  n.next = &head;
  head.prev->next = &n;
  head.prev = &n;
  busy_[s / 64] |= std::uint64_t{1} << (s % 64);
}

void timer_wheel::unlink(wheel_node& n) noexcept {
  n.prev->next = n.next;
  n.next->prev = n.prev;
  // The list's only other member is its sentinel: the slot is empty now.
  if (n.prev == n.next && is_sentinel(n.prev)) {
    const std::size_t s = slot_of(n.prev);
    busy_[s / 64] &= ~(std::uint64_t{1} << (s % 64));
  }
  n.prev = n.next = nullptr;
}

void timer_wheel::arm(wheel_node& n, std::uint64_t due_ms) noexcept {
  const std::uint64_t tick = tick_for(due_ms);
  if (n.armed()) {
    if (n.tick == tick) return;
    unlink(n);
  } else {
    ++size_;
  }
  link(n, tick);
}

void timer_wheel::cancel(wheel_node& n) noexcept {
  if (!n.armed()) return;
  unlink(n);
  n.tick = 0;
  --size_;
}

void timer_wheel::take_slot(std::size_t s, wheel_node& into) noexcept {
  wheel_node& head = slots_[s];
  if (head.next == &head) return;
  into.next = head.next;
  into.prev = head.prev;
  into.next->prev = &into;
  into.prev->next = &into;
  head.prev = head.next = &head;
  busy_[s / 64] &= ~(std::uint64_t{1} << (s % 64));
}

std::uint64_t timer_wheel::next_turn() const noexcept {
  if (size_ == 0) return 0;
  // The first busy slot at or after the cursor's, wrapping once around the wheel.
  const std::size_t start = static_cast<std::size_t>(cursor_ & mask_);
  const std::size_t words = busy_.size();
  for (std::size_t k = 0; k <= words; ++k) {
    const std::size_t w = (start / 64 + k) % words;
    std::uint64_t bits = busy_[w];
    if (k == 0) bits &= ~std::uint64_t{0} << (start % 64);  // slots before start: next time round
    if (k == words) bits &= (std::uint64_t{1} << (start % 64)) - 1;
    if (bits == 0) continue;
    const std::size_t s = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
    const std::size_t ahead = (s - start) & mask_;
    return (cursor_ + ahead) * resolution_;
  }
  return cursor_ * resolution_;  // not reached while size_ > 0
}

}  // namespace duplex::net
