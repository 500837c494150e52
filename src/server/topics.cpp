#include "topics.hpp"

namespace duplex::detail {

bool topic_set::add(topic_map& topics, std::string_view name, socket_conn* self) {
  if (contains(name)) return false;
  auto it = topics.find(name);
  if (it == topics.end())
    it = topics.emplace(std::string(name), topic{std::string(name), {}}).first;
  if (!mine_) mine_ = std::make_unique<std::vector<topic*>>();
  mine_->reserve(mine_->size() + 1);  // before the topic lists self: nothing throws after
  it->second.subscribers.push_back(self);
  mine_->push_back(&it->second);
  return true;
}

bool topic_set::remove(topic_map& topics, std::string_view name, socket_conn* self) {
  if (!mine_) return false;
  auto& mine = *mine_;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    topic* t = mine[i];
    if (t->name != name) continue;
    auto& subs = t->subscribers;
    for (auto& s : subs) {
      if (s == self) {
        s = subs.back();
        subs.pop_back();
        break;
      }
    }
    mine[i] = mine.back();
    mine.pop_back();
    if (mine.empty()) mine_.reset();
    // Erase through an iterator: erasing by a key that lives inside the node is unsafe.
    if (subs.empty()) topics.erase(topics.find(std::string_view(t->name)));
    return true;
  }
  return false;
}

bool topic_set::contains(std::string_view name) const noexcept {
  if (!mine_) return false;
  for (const topic* t : *mine_)
    if (t->name == name) return true;
  return false;
}

void topic_set::clear(topic_map& topics, socket_conn* self) {
  while (mine_ && !mine_->empty())
    remove(topics, std::string(mine_->back()->name), self);
  mine_.reset();
}

}  // namespace duplex::detail
