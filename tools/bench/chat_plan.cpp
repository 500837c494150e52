#include "chat_plan.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace duplex::bench {
namespace {

constexpr unsigned min_room = 2;
constexpr unsigned max_room = 1000;  // the chat refuses a join past it with room_full

std::vector<unsigned> sizes(unsigned users, unsigned rooms, room_mix mix) {
  std::vector<double> weight(rooms, 1.0);
  if (mix == room_mix::zipf)
    for (unsigned i = 0; i < rooms; ++i)
      weight[i] = 1.0 / (i + 1);
  const double total = std::accumulate(weight.begin(), weight.end(), 0.0);
  std::vector<unsigned> out(rooms);
  for (unsigned i = 0; i < rooms; ++i)
    out[i] = std::clamp(static_cast<unsigned>(std::floor(users * weight[i] / total)), min_room,
                        max_room);
  // The rounding leaves the sum off by a few: the biggest rooms take the users left over and
  // the smallest give back the excess, so that the sizes stay in decreasing order.
  auto sum = std::accumulate(out.begin(), out.end(), 0u);
  for (unsigned i = 0; sum < users; i = (i + 1) % rooms)
    if (out[i] < max_room) ++out[i], ++sum;
  for (unsigned i = rooms - 1; sum > users; i = i == 0 ? rooms - 1 : i - 1)
    if (out[i] > min_room) --out[i], --sum;
  return out;
}

}  // namespace

chat_plan make_plan(unsigned users, unsigned rooms, room_mix mix, placement where, unsigned nodes) {
  if (rooms == 0 || nodes == 0) throw std::invalid_argument("no rooms or no nodes");
  if (users < min_room * rooms || users > max_room * rooms)
    throw std::invalid_argument("rooms hold 2 to 1000 members: give 2 to 1000 users per room");
  chat_plan p;
  p.room_sizes = sizes(users, rooms, mix);
  for (unsigned r = 0; r < rooms; ++r)
    for (unsigned k = 0; k < p.room_sizes[r]; ++k) {
      const auto u = static_cast<unsigned>(p.user_room.size());
      p.user_room.push_back(r);
      p.user_node.push_back(where == placement::room ? r % nodes : u % nodes);
    }
  return p;
}

}  // namespace duplex::bench
