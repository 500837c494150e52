// Who is where in a chat load: room sizes (Zipf-like or even), each user's room and node.
#pragma once

#include <string>
#include <vector>

namespace duplex::bench {

// "zipf": room i holds a share of the users proportional to 1/(i+1) (a few big rooms, many
// small); "even": rooms of one size. Every room has 2 to 1000 members (the chat's room_full).
enum class room_mix { zipf, even };
// "room": every member of room i is on node i % nodes, so that rooms, and their traffic, are
// spread over the nodes unevenly on purpose; "user": users go round robin over the nodes.
enum class placement { room, user };

struct chat_plan {
  std::vector<unsigned> room_sizes;
  std::vector<unsigned> user_room;  // per user
  std::vector<unsigned> user_node;  // per user, an index into the node URLs
};

// Throws std::invalid_argument when the users cannot fill the rooms within the sizes above.
chat_plan make_plan(unsigned users, unsigned rooms, room_mix mix, placement where, unsigned nodes);

}  // namespace duplex::bench
