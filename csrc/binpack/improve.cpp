#include "binpack/improve.hpp"

#include <algorithm>
#include <chrono>

#include "binpack/rng.hpp"

namespace aios::binpack {

namespace {

constexpr int kMaxPoolForPairs = 40;  // beyond this pool size only single pool items are exchanged
constexpr int kMaxPoolForSplit = 14;   // exhaustive two-bin split of the pool up to this size
constexpr int kDropped = 3;             // bins emptied into the pool per reduction (m - 1 target)
constexpr int64_t kRefillNodes = 64;  // branch-and-bound nodes per bin refill
constexpr int64_t kStallBase = 100;     // iterations without a lighter pool before a restart
constexpr int64_t kStallPerItem = 1;
constexpr int64_t kTenureMin = 2;
constexpr int64_t kTenureRange = 6;

// A subset (one or two items) of the pool with its total weight and size.
struct PoolSet {
  int a = -1, b = -1;
  int64_t weight = 0;
  int count = 0;
  std::vector<int64_t> size;
};

class Search {
 public:
  Search(const Items& it, const ImproveOptions& opt)
      : it_(it), opt_(opt), rng_(opt.seed), w_(it.n), tabu_(it.n, 0) {
    for (int j = 0; j < it.n; ++j) w_[j] = unit_weight(it, j);
    if (opt.time_limit_s > 0) {
      deadline_ = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(opt.time_limit_s));
    }
  }

  Packing run(const Packing& start, ImproveStats* stats) {
    Packing best = start;
    int attempt = 0;
    while (best.bins > opt_.lower_bound && best.bins > kDropped && !out_of_budget()) {
      const Outcome o = reduce(best, attempt);
      if (o == Outcome::Done) break;
      attempt = o == Outcome::Reduced ? 0 : attempt + 1;
    }
    if (stats) {
      stats->iterations = iter_;
      stats->timed_out = timed_out_;
    }
    return best;
  }

 private:
  bool out_of_budget() {
    if (iter_ >= opt_.max_iters) return true;
    if (opt_.time_limit_s > 0 && std::chrono::steady_clock::now() >= deadline_) timed_out_ = true;
    return timed_out_;
  }

  int64_t* load(int b) { return &load_[static_cast<size_t>(b) * it_.d]; }

  enum class Outcome { Reduced, Stalled, Done };

  // Tries to turn `best` (m bins) into a packing of m - 1 bins; on success overwrites best. The
  // first attempt empties the lightest bins, later ones (after a stall: no lower pool weight for
  // kStallBase + kStallPerItem * n iterations) random ones.
  Outcome reduce(Packing& best, int attempt) {
    const int m = best.bins;
    std::vector<int64_t> bw(m, 0);
    for (int j = 0; j < it_.n; ++j) bw[best.bin_of[j]] += w_[j];
    std::vector<int> order(m);
    for (int b = 0; b < m; ++b) order[b] = b;
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return bw[x] < bw[y]; });
    if (attempt > 0) {
      for (int i = 0; i < kDropped; ++i) std::swap(order[i], order[i + static_cast<int>(rng_.below(m - i))]);
    }
    std::vector<int> newid(m, 0);
    for (int i = 0; i < kDropped; ++i) newid[order[i]] = -1;
    int k = 0;
    for (int b = 0; b < m; ++b)
      if (newid[b] == 0) newid[b] = k++;
    bins_.assign(k, {});
    binw_.assign(k, 0);
    load_.assign(static_cast<size_t>(k) * it_.d, 0);
    pool_.clear();
    cursor_ = 0;
    dirty_.assign(k, 1);
    std::fill(tabu_.begin(), tabu_.end(), 0);
    for (int j = 0; j < it_.n; ++j) {
      const int b = newid[best.bin_of[j]];
      if (b < 0) {
        pool_.push_back(j);
      } else {
        bins_[b].push_back(j);
        binw_[b] += w_[j];
        for (int h = 0; h < it_.d; ++h) load(b)[h] += it_.at(j, h);
      }
    }
    int64_t best_pool = -1, last_gain = iter_;
    const int64_t stall = kStallBase + kStallPerItem * it_.n;
    while (true) {
      int64_t pw = 0;
      for (int j : pool_) pw += w_[j];
      if (best_pool < 0 || pw < best_pool) {
        best_pool = pw;
        last_gain = iter_;
      }
      if (pool_fits_two_bins()) {
        for (int b = 0; b < k; ++b)
          for (int j : bins_[b]) best.bin_of[j] = b;
        for (size_t i = 0; i < pool_.size(); ++i) best.bin_of[pool_[i]] = k + pool_side_[i];
        best.bins = k + 2;
        compact(best);
        return Outcome::Reduced;
      }
      if (out_of_budget()) return Outcome::Done;
      if (iter_ - last_gain > stall) return Outcome::Stalled;
      ++iter_;
      if (!exchange(true)) {
        // No exchange lowers the pool weight: reshape the bins, else take the best sideways or
        // uphill exchange (the tabu tenures keep it from undoing itself); with every candidate
        // tabu, the iteration just lets tenures expire.
        if (!refill_all() && !descent()) exchange(false);
      }
    }
  }

  // Whether the pool packs into two bins: first fit by decreasing weight, else (small pools) every
  // split that puts the heaviest item in the first bin. Sets pool_side_ (0 or 1 per pool slot).
  bool pool_fits_two_bins() {
    const int P = static_cast<int>(pool_.size());
    std::vector<int64_t> total(it_.d, 0);
    for (int j : pool_)
      for (int h = 0; h < it_.d; ++h) total[h] += it_.at(j, h);
    for (int h = 0; h < it_.d; ++h)
      if (total[h] > (kDropped - 1) * it_.cap[h]) return false;
    if (kDropped == 2) {  // one target bin: the totals decide
      pool_side_.assign(P, 0);
      return true;
    }
    std::vector<int> idx(P);
    for (int i = 0; i < P; ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](int x, int y) { return w_[pool_[x]] > w_[pool_[y]]; });
    pool_side_.assign(P, 0);
    std::vector<int64_t> l0(it_.d, 0), l1(it_.d, 0);
    bool ok = true;
    for (int i : idx) {
      const int j = pool_[i];
      if (fits_load(l0.data(), j)) {
        add_load(l0.data(), j);
        pool_side_[i] = 0;
      } else if (fits_load(l1.data(), j)) {
        add_load(l1.data(), j);
        pool_side_[i] = 1;
      } else {
        ok = false;
        break;
      }
    }
    if (ok) return true;
    if (P > kMaxPoolForSplit) return false;
    const int first = idx[0];
    for (uint32_t mask = 0; mask < (1u << (P - 1)); ++mask) {
      std::fill(l0.begin(), l0.end(), 0);
      std::fill(l1.begin(), l1.end(), 0);
      int bit = 0;
      for (int i = 0; i < P; ++i) {
        const bool second = i != first && ((mask >> bit++) & 1u);
        pool_side_[i] = second ? 1 : 0;
        add_load(second ? l1.data() : l0.data(), pool_[i]);
      }
      bool fit = true;
      for (int h = 0; h < it_.d && fit; ++h) fit = l0[h] <= it_.cap[h] && l1[h] <= it_.cap[h];
      if (fit) return true;
    }
    return false;
  }

  bool fits_load(const int64_t* l, int j) const {
    for (int h = 0; h < it_.d; ++h)
      if (l[h] + it_.at(j, h) > it_.cap[h]) return false;
    return true;
  }
  void add_load(int64_t* l, int j) const {
    for (int h = 0; h < it_.d; ++h) l[h] += it_.at(j, h);
  }

  std::vector<PoolSet> pool_sets() const {
    std::vector<PoolSet> sets;
    const int P = static_cast<int>(pool_.size());
    auto add = [&](int a, int b) {
      PoolSet s;
      s.a = a;
      s.b = b;
      s.count = b < 0 ? 1 : 2;
      s.size.assign(it_.d, 0);
      for (int x : {a, b}) {
        if (x < 0) continue;
        s.weight += w_[x];
        for (int h = 0; h < it_.d; ++h) s.size[h] += it_.at(x, h);
      }
      sets.push_back(std::move(s));
    };
    for (int u = 0; u < P; ++u)
      if (tabu_[pool_[u]] <= iter_) add(pool_[u], -1);
    if (P <= kMaxPoolForPairs) {
      for (int u = 0; u < P; ++u)
        for (int v = u + 1; v < P; ++v)
          if (tabu_[pool_[u]] <= iter_ && tabu_[pool_[v]] <= iter_) add(pool_[u], pool_[v]);
    }
    std::stable_sort(sets.begin(), sets.end(), [](const PoolSet& x, const PoolSet& y) {
      return x.weight != y.weight ? x.weight > y.weight : x.count < y.count;
    });
    return sets;
  }

  // Finds the best non-tabu exchange (bin items A out, pool items B in); applies it when it
  // strictly lowers the pool weight, or any best one when improving_only is false.
  bool exchange(bool improving_only) {
    const auto sets = pool_sets();
    if (sets.empty()) return false;
    const int k = static_cast<int>(bins_.size());
    bool found = false;
    int64_t best_delta = 0;
    int best_dcount = 0, best_bin = -1, best_x = -1, best_y = -1;
    int64_t ties = 0;
    const PoolSet* best_set = nullptr;
    std::vector<int64_t> freecap(it_.d);
    for (int b = 0; b < k; ++b) {
      const auto& items = bins_[b];
      const int q = static_cast<int>(items.size());
      // A = {}, {x}, {x, y} by position in the bin.
      for (int x = -1; x < q; ++x) {
        if (x >= 0 && tabu_[items[x]] > iter_) continue;
        for (int y = -1; y < q; ++y) {
          if (x < 0 && y >= 0) break;
          if (y >= 0 && y <= x) continue;
          if (y >= 0 && tabu_[items[y]] > iter_) continue;
          int64_t aw = 0;
          int ac = 0;
          for (int h = 0; h < it_.d; ++h) freecap[h] = it_.cap[h] - load(b)[h];
          for (int pos : {x, y}) {
            if (pos < 0) continue;
            const int j = items[pos];
            aw += w_[j];
            ++ac;
            for (int h = 0; h < it_.d; ++h) freecap[h] += it_.at(j, h);
          }
          for (const auto& s : sets) {
            const int64_t delta = aw - s.weight;
            if (found && delta > best_delta) break;
            bool ok = true;
            for (int h = 0; h < it_.d && ok; ++h) ok = s.size[h] <= freecap[h];
            if (!ok) continue;
            const int dcount = ac - s.count;
            // Equal best moves are sampled uniformly (reservoir) so plateaus get explored.
            bool take = !found || delta < best_delta || (delta == best_delta && dcount > best_dcount);
            if (take) {
              ties = 1;
            } else if (delta == best_delta && dcount == best_dcount) {
              take = rng_.below(static_cast<uint64_t>(++ties)) == 0;
            }
            if (take) {
              found = true;
              best_delta = delta;
              best_dcount = dcount;
              best_bin = b;
              best_x = x < 0 ? -1 : items[x];
              best_y = y < 0 ? -1 : items[y];
              best_set = &s;
            }
            break;  // later sets of this A are no better
          }
        }
      }
    }
    if (!found || (improving_only && best_delta >= 0)) return false;
    apply(best_bin, best_x, best_y, best_set->a, best_set->b);
    return true;
  }

  static void remove_value(std::vector<int>& v, int value) {
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] == value) {
        v[i] = v.back();
        v.pop_back();
        return;
      }
    }
  }

  void move_into(int b, int j, int sign) {
    dirty_[b] = 1;
    binw_[b] += sign * w_[j];
    for (int h = 0; h < it_.d; ++h) load(b)[h] += sign * it_.at(j, h);
  }

  void apply(int b, int out1, int out2, int in1, int in2) {
    const int64_t tenure = kTenureMin + static_cast<int64_t>(rng_.below(kTenureRange));
    for (int j : {out1, out2}) {
      if (j < 0) continue;
      remove_value(bins_[b], j);
      move_into(b, j, -1);
      pool_.push_back(j);
      tabu_[j] = iter_ + tenure;
    }
    for (int j : {in1, in2}) {
      if (j < 0) continue;
      remove_value(pool_, j);
      bins_[b].push_back(j);
      move_into(b, j, +1);
      tabu_[j] = iter_ + tenure;
    }
  }

  // Unlimited add/drop on one bin: the heaviest subset of its items plus the pool that fits
  // (depth-first branch and bound, include first, at most kRefillNodes nodes). Applied when it is
  // strictly heavier than the bin. Returns whether any bin changed.
  bool refill_all() {
    bool any = false;
    for (int b = 0; b < static_cast<int>(bins_.size()); ++b) any = refill(b) || any;
    return any;
  }

  bool refill(int b) {
    // Tabu items keep their side: tabu bin items stay in (their load is the starting point), tabu
    // pool items stay out; otherwise the refill would undo the last uphill exchange at once.
    cand_.clear();
    std::vector<int64_t> l(it_.d, 0);
    int64_t fixed = 0;
    for (int j : bins_[b]) {
      if (tabu_[j] > iter_) {
        add_load(l.data(), j);
        fixed += w_[j];
      } else {
        cand_.push_back(j);
      }
    }
    for (int j : pool_)
      if (tabu_[j] <= iter_) cand_.push_back(j);
    std::stable_sort(cand_.begin(), cand_.end(), [&](int x, int y) { return w_[x] > w_[y]; });
    const int c = static_cast<int>(cand_.size());
    suffix_.assign(c + 1, 0);
    for (int i = c - 1; i >= 0; --i) suffix_[i] = suffix_[i + 1] + w_[cand_[i]];
    take_.assign(c, 0);
    best_take_.assign(c, 0);
    best_w_ = binw_[b];
    found_ = false;
    nodes_ = 0;
    dfs(0, fixed, l);
    if (!found_) return false;
    std::vector<int> keep, out;
    for (int i = 0; i < c; ++i) {
      const int j = cand_[i];
      const bool in_bin = std::find(bins_[b].begin(), bins_[b].end(), j) != bins_[b].end();
      if (best_take_[i] && !in_bin) {
        remove_value(pool_, j);
      } else if (!best_take_[i] && in_bin) {
        out.push_back(j);
      }
      if (best_take_[i]) keep.push_back(j);
    }
    for (int j : bins_[b])
      if (tabu_[j] > iter_) keep.insert(keep.begin(), j);
    for (int j : out) pool_.push_back(j);
    bins_[b] = keep;
    binw_[b] = 0;
    std::fill(load(b), load(b) + it_.d, 0);
    for (int j : keep) move_into(b, j, +1);
    return true;
  }

  // One pass over bin pairs: move or swap single items when that makes the two bin weights more
  // unequal (raises the sum of squared bin weights, concentrating free space). Returns whether
  // anything moved.
  // Stops after the first bin that changed; the scan resumes at the next bin on the next call.
  bool descent() {
    const int k = static_cast<int>(bins_.size());
    for (int step = 0; step < k; ++step) {
      const int b1 = (cursor_ + step) % k;
      bool any = false;
      for (int b2 = 0; b2 < k; ++b2)
        if (b2 != b1 && (dirty_[b1] || dirty_[b2]))
          while (descent_pair(std::min(b1, b2), std::max(b1, b2))) any = true;
      if (any) {
        cursor_ = (b1 + 1) % k;
        return true;
      }
    }
    std::fill(dirty_.begin(), dirty_.end(), 0);  // no pair can gain until a bin changes
    return false;
  }

  static bool gains(int64_t delta, int64_t diff) {  // sign(delta) * sign(diff + delta) > 0
    const int64_t t = diff + delta;
    return (delta > 0 && t > 0) || (delta < 0 && t < 0);
  }

  bool fits_swap(int b, int out, int in) {
    for (int h = 0; h < it_.d; ++h) {
      const int64_t l = load(b)[h] - (out >= 0 ? it_.at(out, h) : 0) + it_.at(in, h);
      if (l > it_.cap[h]) return false;
    }
    return true;
  }

  bool descent_pair(int b1, int b2) {
    const auto& i1 = bins_[b1];
    const auto& i2 = bins_[b2];
    const int64_t diff = binw_[b1] - binw_[b2];
    for (size_t x = 0; x < i1.size(); ++x) {  // b1 -> b2
      const int j = i1[x];
      if (gains(-w_[j], diff) && fits_swap(b2, -1, j)) {
        transfer(b1, b2, j);
        return true;
      }
    }
    for (size_t y = 0; y < i2.size(); ++y) {  // b2 -> b1
      const int j = i2[y];
      if (gains(w_[j], diff) && fits_swap(b1, -1, j)) {
        transfer(b2, b1, j);
        return true;
      }
    }
    for (size_t x = 0; x < i1.size(); ++x) {
      for (size_t y = 0; y < i2.size(); ++y) {
        const int jx = i1[x], jy = i2[y];
        if (gains(w_[jy] - w_[jx], diff) && fits_swap(b1, jx, jy) && fits_swap(b2, jy, jx)) {
          transfer(b1, b2, jx);
          transfer(b2, b1, jy);
          return true;
        }
      }
    }
    return false;
  }

  void transfer(int from, int to, int j) {
    remove_value(bins_[from], j);
    move_into(from, j, -1);
    bins_[to].push_back(j);
    move_into(to, j, +1);
  }

  void dfs(int i, int64_t cur, std::vector<int64_t>& l) {
    if (++nodes_ > kRefillNodes) return;
    if (cur > best_w_) {
      best_w_ = cur;
      best_take_ = take_;
      found_ = true;
    }
    if (i == static_cast<int>(cand_.size()) || cur + suffix_[i] <= best_w_) return;
    const int j = cand_[i];
    if (fits_load(l.data(), j)) {
      add_load(l.data(), j);
      take_[i] = 1;
      dfs(i + 1, cur + w_[j], l);
      take_[i] = 0;
      for (int h = 0; h < it_.d; ++h) l[h] -= it_.at(j, h);
    }
    dfs(i + 1, cur, l);
  }

  const Items& it_;
  ImproveOptions opt_;
  SplitMix64 rng_;
  std::vector<int64_t> w_;
  std::vector<int64_t> tabu_;
  std::vector<std::vector<int>> bins_;
  std::vector<int64_t> binw_;
  std::vector<int64_t> load_;
  std::vector<int> pool_;
  std::vector<int> pool_side_;
  std::vector<int> cand_;
  std::vector<int64_t> suffix_;
  std::vector<char> take_, best_take_;
  int64_t best_w_ = 0;
  bool found_ = false;
  int64_t nodes_ = 0;
  int cursor_ = 0;
  std::vector<char> dirty_;  // bins changed since the last descent that found nothing
  int64_t iter_ = 0;
  bool timed_out_ = false;
  std::chrono::steady_clock::time_point deadline_{};
};

}  // namespace

Packing improve(const Items& it, const Packing& start, const ImproveOptions& opt, ImproveStats* stats) {
  Search s(it, opt);
  return s.run(start, stats);
}

}  // namespace aios::binpack
