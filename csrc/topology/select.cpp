#include "topology/select.hpp"

#include <algorithm>
#include <functional>
#include <string>

#include "common/error.hpp"

namespace aios::topology {

namespace {

struct Search {
  const int64_t* score;
  int32_t m, padded, size, pads;
  std::vector<uint8_t> is_required;
  int32_t n_required;
  std::vector<int64_t> row_bound;  // best size-1 pair scores of each GPU, summed
  std::vector<int32_t> by_score;   // m x (m-1): each GPU's partners, best score first
  int64_t max_nodes;

  std::vector<uint8_t> used;
  std::vector<int32_t> member;        // current partial partition, set after set
  std::vector<int32_t> best_member;   // flattened best partition
  int64_t best_score = 0;
  bool have_best = false;
  bool aborted = false;
  int64_t nodes = 0;
  int32_t unused_real = 0;
  bool have_greedy = false;
  int64_t greedy_score = 0;
  std::vector<int32_t> greedy_member;

  // A valid partition built greedily (the required GPUs' set first, each set grown by the free GPU
  // with the highest score to it, lowest position on ties; the leftovers take the padding).
  // Its score is a floor for the optimum. O(m^2 size).
  void greedy() {
    std::vector<uint8_t> taken(m, 0);
    int32_t left = m;
    auto grow = [&](std::vector<int32_t>& set) {
      while (static_cast<int32_t>(set.size()) < size) {
        int32_t pick = -1;
        int64_t pick_score = -1;
        for (int32_t u = 0; u < m; ++u) {
          if (taken[u]) continue;
          int64_t sc = 0;
          for (const int32_t x : set) sc += score[x * m + u];
          if (sc > pick_score) { pick = u; pick_score = sc; }
        }
        taken[pick] = 1;
        --left;
        set.push_back(pick);
      }
    };
    std::vector<int32_t> set;
    for (int32_t r = 0; r < m; ++r) if (is_required[r]) { set.push_back(r); taken[r] = 1; --left; }
    if (!set.empty()) { grow(set); greedy_member.insert(greedy_member.end(), set.begin(), set.end()); }
    while (left >= size) {
      set.clear();
      grow(set);
      greedy_member.insert(greedy_member.end(), set.begin(), set.end());
    }
    for (int32_t u = 0; u < m; ++u) if (!taken[u]) greedy_member.push_back(u);
    for (int32_t pad = m; pad < padded; ++pad) greedy_member.push_back(pad);
    greedy_score = 0;
    for (size_t st = 0; st < greedy_member.size(); st += size) {
      for (int32_t a = 0; a < size; ++a) {
        for (int32_t b = a + 1; b < size; ++b) greedy_score += pair(greedy_member[st + a], greedy_member[st + b]);
      }
    }
    have_greedy = true;
  }

  bool real(int32_t p) const { return p < m; }

  // Twice an upper bound on what the unused GPUs can still add: each one's size-1 best partners
  // among the unused GPUs. O(m * (size + skipped partners)).
  int64_t unused_bound() const {
    int64_t total = 0;
    for (int32_t e = 0; e < m; ++e) {
      if (used[e]) continue;
      int32_t taken = 0;
      const int32_t* row = &by_score[static_cast<size_t>(e) * (m - 1)];
      for (int32_t k = 0; k < m - 1 && taken < size - 1; ++k) {
        if (!used[row[k]]) { total += score[e * m + row[k]]; ++taken; }
      }
    }
    return total;
  }
  int64_t pair(int32_t a, int32_t b) const { return (real(a) && real(b)) ? score[a * m + b] : 0; }

  // rem_bound = sum of row_bound over unused real GPUs (twice the optimistic remaining score).
  void dfs(int64_t cur, int64_t rem_bound, bool required_placed) {
    if (aborted) return;
    if (max_nodes > 0 && nodes >= max_nodes) { aborted = true; return; }
    ++nodes;
    // Prune subtrees that cannot beat the best found (ties keep the earlier one) or cannot even
    // reach the greedy partition's score (the optimum is at least that, so it is never cut).
    if (have_best || have_greedy) {
      auto hopeless = [&](int64_t bound) {
        return (have_best && 2 * cur + bound <= 2 * best_score) || (have_greedy && 2 * cur + bound < 2 * greedy_score);
      };
      if (hopeless(rem_bound)) return;
      // The tighter bound pays off only while at least two sets remain to be formed.
      if (unused_real >= 2 * size && hopeless(unused_bound())) return;
    }
    int32_t first = 0;
    while (first < padded && used[first]) ++first;
    if (first == padded) {
      if (!required_placed) return;
      if (!have_best || cur > best_score) { best_score = cur; best_member = member; have_best = true; }
      return;
    }
    // Choose size-1 companions from the unused positions after `first`, lexicographically.
    std::vector<int32_t> cand;
    for (int32_t p = first + 1; p < padded; ++p) if (!used[p]) cand.push_back(p);
    const int32_t need = size - 1;
    if (static_cast<int32_t>(cand.size()) < need) return;
    std::vector<int32_t> idx(need);
    for (int32_t i = 0; i < need; ++i) idx[i] = i;
    const size_t base = member.size();
    while (true) {
      int32_t n_pads = real(first) ? 0 : 1, n_req = is_required[first];
      for (int32_t i = 0; i < need; ++i) {
        const int32_t p = cand[idx[i]];
        if (!real(p)) ++n_pads; else n_req += is_required[p];
      }
      // A set holds no padding or all of it; a set touching the required GPUs holds all of them
      // and no padding.
      const bool pad_ok = n_pads == 0 || n_pads == pads;
      const bool req_ok = n_req == 0 || (n_req == n_required && n_pads == 0);
      if (pad_ok && req_ok) {
        member.push_back(first);
        for (int32_t i = 0; i < need; ++i) member.push_back(cand[idx[i]]);
        int64_t set_score = 0, set_bound = 0;
        for (size_t a = base; a < member.size(); ++a) {
          used[member[a]] = 1;
          unused_real -= real(member[a]) ? 1 : 0;
          if (real(member[a])) set_bound += row_bound[member[a]];
          for (size_t b = a + 1; b < member.size(); ++b) set_score += pair(member[a], member[b]);
        }
        dfs(cur + set_score, rem_bound - set_bound, required_placed || n_req > 0);
        for (size_t a = base; a < member.size(); ++a) {
          used[member[a]] = 0;
          unused_real += real(member[a]) ? 1 : 0;
        }
        member.resize(base);
        if (aborted) return;
      }
      // Next combination of `need` out of cand.size().
      int32_t i = need - 1;
      const int32_t c = static_cast<int32_t>(cand.size());
      while (i >= 0 && idx[i] == c - need + i) --i;
      if (i < 0) break;
      ++idx[i];
      for (int32_t j = i + 1; j < need; ++j) idx[j] = idx[j - 1] + 1;
    }
  }
};

}  // namespace

Selection select_best_effort(const int64_t* score, int32_t m, const int32_t* required, int32_t n_required,
                             int32_t size, int64_t max_nodes) {
  if (size <= 0) throw ConfigError(field_msg("count", "must be >= 1, got " + std::to_string(size)));
  if (m < size) {
    throw ConfigError(field_msg("count", std::to_string(size) + " GPUs requested but only " + std::to_string(m) +
                                             " available"));
  }
  if (n_required > size) {
    throw ConfigError(field_msg("required", std::to_string(n_required) + " GPUs required but count is " +
                                                std::to_string(size)));
  }
  Search s;
  s.score = score;
  s.m = m;
  s.size = size;
  s.pads = (size - m % size) % size;
  s.padded = m + s.pads;
  s.is_required.assign(s.padded, 0);
  for (int32_t i = 0; i < n_required; ++i) {
    const int32_t r = required[i];
    if (r < 0 || r >= m) throw ConfigError(field_msg("required", "position " + std::to_string(r) + " out of range"));
    if (s.is_required[r]) throw ConfigError(field_msg("required", "position " + std::to_string(r) + " repeated"));
    s.is_required[r] = 1;
  }
  s.n_required = n_required;
  s.max_nodes = max_nodes;
  Selection out;
  if (size == 1) {  // go-gpuallocator: every partition scores 0, the first suitable GPU wins
    for (int32_t p = 0; p < m; ++p) {
      if (n_required == 0 || s.is_required[p]) { out.gpus = {p}; break; }
    }
    return out;
  }
  s.row_bound.assign(m, 0);
  std::vector<int64_t> row;
  int64_t total_bound = 0;
  for (int32_t a = 0; a < m; ++a) {
    row.clear();
    for (int32_t b = 0; b < m; ++b) if (b != a) row.push_back(score[a * m + b]);
    std::partial_sort(row.begin(), row.begin() + (size - 1), row.end(), std::greater<int64_t>());
    for (int32_t i = 0; i < size - 1; ++i) s.row_bound[a] += std::max<int64_t>(row[i], 0);
    total_bound += s.row_bound[a];
  }
  s.by_score.resize(static_cast<size_t>(m) * (m - 1));
  for (int32_t a = 0; a < m; ++a) {
    int32_t* row = &s.by_score[static_cast<size_t>(a) * (m - 1)];
    int32_t k = 0;
    for (int32_t b = 0; b < m; ++b) if (b != a) row[k++] = b;
    std::stable_sort(row, row + (m - 1), [&](int32_t x, int32_t y) { return score[a * m + x] > score[a * m + y]; });
  }
  s.used.assign(s.padded, 0);
  s.unused_real = m;
  s.greedy();
  s.dfs(0, total_bound, n_required == 0);
  out.exact = !s.aborted;
  out.nodes = s.nodes;
  if (s.aborted && (!s.have_best || s.best_score < s.greedy_score)) {
    s.best_member = s.greedy_member;  // the budget ran out before the search beat the greedy floor
    s.best_score = s.greedy_score;
    s.have_best = true;
  }
  if (!s.have_best) return out;
  out.partition_score = s.best_score;
  // The best padding-free set containing the required GPUs; ties go to the earlier set.
  int64_t best_set = -1;
  for (size_t start = 0; start < s.best_member.size(); start += size) {
    bool has_pad = false, has_req = n_required == 0;
    int64_t sc = 0;
    for (int32_t a = 0; a < size; ++a) {
      const int32_t p = s.best_member[start + a];
      if (!s.real(p)) has_pad = true; else if (s.is_required[p]) has_req = true;
      for (int32_t b = a + 1; b < size; ++b) sc += s.pair(p, s.best_member[start + b]);
    }
    if (has_pad || !has_req) continue;
    if (sc > best_set) {
      best_set = sc;
      out.gpus.assign(s.best_member.begin() + start, s.best_member.begin() + start + size);
    }
  }
  out.set_score = best_set;
  std::sort(out.gpus.begin(), out.gpus.end());  // enumeration sets are ascending already; greedy ones not
  return out;
}

}  // namespace aios::topology
