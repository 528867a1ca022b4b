#include "sim/queues.hpp"

#include <algorithm>

namespace aios::sim {

int32_t FifoQueue::head() {
  while (!q_.empty() && !queued_[q_.front()]) q_.pop_front();
  return q_.empty() ? -1 : q_.front();
}

void FifoQueue::behind_head(int limit, std::vector<int32_t>& out) {
  // The Python twin reads windows of 2*limit, 8*limit, ... entries until one holds `limit` live
  // ones or reaches the end; its compaction rule depends on the stale count of that window.
  out.clear();
  const size_t behind = q_.empty() ? 0 : q_.size() - 1;
  size_t window = 2 * static_cast<size_t>(limit), scanned = 0;
  std::vector<int32_t> live;
  while (true) {
    const size_t upto = std::min(window, behind);
    for (; scanned < upto; ++scanned) {
      const int32_t j = q_[scanned + 1];
      if (queued_[j]) live.push_back(j);
    }
    if (live.size() >= static_cast<size_t>(limit) || upto < window) break;
    window *= 4;
  }
  const size_t stale = scanned - live.size();
  if (stale > 256 && stale > 4 * static_cast<size_t>(limit)) {  // backfilled jobs pile up: drop them
    std::deque<int32_t> kept;
    for (int32_t j : q_)
      if (queued_[j]) kept.push_back(j);
    q_.swap(kept);
  }
  live.resize(std::min(live.size(), static_cast<size_t>(limit)));
  out.swap(live);
}

int32_t KeyedQueue::head() {
  while (!h_.empty() && !queued_[h_.begin()->second]) h_.erase(h_.begin());
  return h_.empty() ? -1 : h_.begin()->second;
}

void KeyedQueue::behind_head(int limit, std::vector<int32_t>& out) const {
  // Live entries among the 2*limit+1 smallest, the first (the head) left out.
  out.clear();
  size_t taken = 0, live = 0;
  for (auto it = h_.begin(); it != h_.end() && taken < 2 * static_cast<size_t>(limit) + 1; ++it, ++taken) {
    if (!queued_[it->second]) continue;
    if (live++ == 0) continue;
    if (out.size() < static_cast<size_t>(limit)) out.push_back(it->second);
  }
}

DrfQueue::DrfQueue(const std::vector<uint8_t>& queued, const int64_t* user, int users, const int64_t* capacity,
                   int R, const int64_t* weights)
    : queued_(queued), user_(user), R_(R), cap_(R), weight_(users), share_(users, 0.0),
      alloc_(static_cast<size_t>(users) * R, 0), queues_(users), is_waiting_(users, 0) {
  for (int r = 0; r < R; ++r) cap_[r] = static_cast<double>(std::max<int64_t>(capacity[r], 1));
  for (int u = 0; u < users; ++u) weight_[u] = static_cast<double>(weights[u]);
}

void DrfQueue::push(int32_t j) {
  const auto u = static_cast<int32_t>(user_[j]);
  queues_[u].push_back(j);
  if (!is_waiting_[u]) {
    is_waiting_[u] = 1;
    waiting_.push_back(u);
  }
}

void DrfQueue::charge(int32_t j, const int64_t* amount, int64_t times) {
  const auto u = static_cast<size_t>(user_[j]);
  int64_t* a = &alloc_[u * R_];
  double dominant = 0.0;
  for (int r = 0; r < R_; ++r) {
    a[r] += amount[r] * times;
    dominant = r == 0 ? a[r] / cap_[r] : std::max(dominant, a[r] / cap_[r]);
  }
  share_[u] = dominant / weight_[u];
}

int32_t DrfQueue::head() {
  int32_t best = -1;
  for (size_t k = 0; k < waiting_.size();) {
    const int32_t u = waiting_[k];
    auto& q = queues_[u];
    while (!q.empty() && !queued_[q.front()]) q.pop_front();
    if (q.empty()) {
      is_waiting_[u] = 0;
      waiting_[k] = waiting_.back();
      waiting_.pop_back();
      continue;
    }
    if (best < 0 || share_[u] < share_[best] || (share_[u] == share_[best] && u < best)) best = u;
    ++k;
  }
  return best < 0 ? -1 : queues_[best].front();
}

}  // namespace aios::sim
