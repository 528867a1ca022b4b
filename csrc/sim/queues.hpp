// Pending-job queues of the native event loop, the same orders as aios_core.sim.queues (which is
// their plain-Python twin): entries are job indices, and a job leaves a queue lazily, by its
// `queued` flag being cleared, so starting a job from the middle of a queue is O(1). Stale and
// repeated entries behave exactly as in the Python queues, so both loops make the same choices.
#pragma once
#include <cstdint>
#include <deque>
#include <set>
#include <utility>
#include <vector>

namespace aios::sim {

// Arrival order (FIFO). A requeued job is pushed again; an old entry of it that is still in the
// deque counts again as soon as the job is queued.
class FifoQueue {
 public:
  explicit FifoQueue(const std::vector<uint8_t>& queued) : queued_(queued) {}
  void push(int32_t j) { q_.push_back(j); }
  int32_t head();  // -1 when empty
  // Up to `limit` live entries behind the head, in queue order (repeats included).
  void behind_head(int limit, std::vector<int32_t>& out);

 private:
  const std::vector<uint8_t>& queued_;
  std::deque<int32_t> q_;
};

// Ascending static integer key per job, ties by job index (a heap in Python; a multiset here
// holds the same entries and yields the same smallest ones).
class KeyedQueue {
 public:
  KeyedQueue(const std::vector<uint8_t>& queued, const int64_t* key) : queued_(queued), key_(key) {}
  void push(int32_t j) { h_.emplace(key_[j], j); }
  int32_t head();
  void behind_head(int limit, std::vector<int32_t>& out) const;

 private:
  const std::vector<uint8_t>& queued_;
  const int64_t* key_;
  std::multiset<std::pair<int64_t, int32_t>> h_;
};

// DRF: per-user FIFO queues; the head is the head job of the user with the lowest weighted
// dominant share of what runs now (ties: lower user index).
class DrfQueue {
 public:
  DrfQueue(const std::vector<uint8_t>& queued, const int64_t* user, int users, const int64_t* capacity, int R,
           const int64_t* weights);
  void push(int32_t j);
  void charge(int32_t j, const int64_t* amount, int64_t times);  // user of j holds amount * times more
  int32_t head();

 private:
  const std::vector<uint8_t>& queued_;
  const int64_t* user_;
  int R_;
  std::vector<double> cap_, weight_, share_;
  std::vector<int64_t> alloc_;  // [users, R]
  std::vector<std::deque<int32_t>> queues_;
  std::vector<int32_t> waiting_;  // users whose queue may be non-empty
  std::vector<uint8_t> is_waiting_;
};

}  // namespace aios::sim
