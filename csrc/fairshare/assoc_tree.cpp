#include "fairshare/assoc_tree.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "common/error.hpp"

namespace aios::fairshare {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::string at(const char* field, int64_t i) { return std::string(field) + "[" + std::to_string(i) + "]"; }

// Working memory kept per thread between calls, so that large trees do not map and fault in
// fresh pages on every call.
struct Scratch {
  std::vector<int32_t> start, list, slot, fill, order;
  std::vector<int64_t> sum;
  std::vector<double> level;
};

Scratch& scratch() {
  static thread_local Scratch s;
  return s;
}

// Children lists in index order, stored compactly (CSR).
struct Children {
  std::vector<int32_t>& start;
  std::vector<int32_t>& list;
  std::vector<int32_t>& slot;  // slot[v]: v's position in list
  explicit Children(const AssocTree& t) : start(scratch().start), list(scratch().list), slot(scratch().slot) {
    start.assign(t.n + 1, 0);
    list.assign(t.n > 0 ? t.n - 1 : 0, 0);
    slot.assign(t.n, -1);
    for (int i = 0; i < t.n; ++i) {
      if (t.parent[i] >= 0) ++start[t.parent[i] + 1];
    }
    for (int i = 0; i < t.n; ++i) start[i + 1] += start[i];
    std::vector<int32_t>& fill = scratch().fill;
    fill.assign(start.begin(), start.end() - 1);
    for (int i = 0; i < t.n; ++i) {
      if (t.parent[i] >= 0) {
        slot[i] = fill[t.parent[i]]++;
        list[slot[i]] = i;
      }
    }
  }
  const int32_t* begin(int v) const { return list.data() + start[v]; }
  const int32_t* end(int v) const { return list.data() + start[v + 1]; }
  int count(int v) const { return start[v + 1] - start[v]; }
};

// Own usage plus all descendants', summed children-last in reverse breadth-first order.
void aggregate_usage(const AssocTree& t, const std::vector<int32_t>& order, double* agg) {
  std::copy(t.usage, t.usage + t.n, agg);
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    if (t.parent[*it] >= 0) agg[t.parent[*it]] += agg[*it];
  }
}

// Each association's shares over the sum of its siblings' (and its own) shares (root: 1). The
// sums are exact integers, so one pass in index order gives the same values as any other order.
void level_shares(const AssocTree& t, double* s) {
  std::vector<int64_t>& sum = scratch().sum;
  sum.assign(t.n, 0);
  for (int v = 0; v < t.n; ++v) {
    if (t.parent[v] >= 0) sum[t.parent[v]] += t.shares[v];
  }
  for (int v = 0; v < t.n; ++v) {
    const int32_t p = t.parent[v];
    s[v] = p < 0 ? 1.0 : (sum[p] > 0 ? static_cast<double>(t.shares[v]) / static_cast<double>(sum[p]) : 0.0);
  }
}

}  // namespace

namespace {
const std::vector<int32_t>& checked_order(const AssocTree& t, const Children& ch);
}  // namespace

std::vector<int32_t> validate_tree(const AssocTree& t) {
  check_fields(t);
  return checked_order(t, Children(t));
}

namespace {

// Breadth-first order from the root (in scratch memory); throws if some node is not reached.
const std::vector<int32_t>& checked_order(const AssocTree& t, const Children& ch) {
  int root = -1;
  for (int i = 0; i < t.n && root < 0; ++i) {
    if (t.parent[i] == -1) root = i;
  }
  std::vector<int32_t>& order = scratch().order;
  order.clear();
  order.reserve(t.n);
  order.push_back(root);
  for (size_t k = 0; k < order.size(); ++k) {
    for (const int32_t* c = ch.begin(order[k]); c != ch.end(order[k]); ++c) order.push_back(*c);
  }
  if (static_cast<int>(order.size()) != t.n) {
    std::vector<char> seen(t.n, 0);
    for (int32_t v : order) seen[v] = 1;
    int bad = 0;
    while (seen[bad]) ++bad;
    throw ConfigError(at("parent", bad) + ": association is on a cycle or cut off from the root (parent " +
                      std::to_string(t.parent[bad]) + ")");
  }
  return order;
}

}  // namespace

void check_fields(const AssocTree& t) {
  if (t.n <= 0) throw ConfigError("parent: the tree needs at least a root association");
  int root = -1;
  for (int i = 0; i < t.n; ++i) {
    const int32_t p = t.parent[i];
    if (p == -1) {
      if (root >= 0) throw ConfigError(at("parent", i) + ": a second root (parent -1); the first is association " + std::to_string(root));
      root = i;
    } else if (p < 0 || p >= t.n) {
      throw ConfigError(at("parent", i) + ": orphaned association, parent " + std::to_string(p) + " is not in [0, " + std::to_string(t.n) + ")");
    } else if (t.is_user[p]) {
      throw ConfigError(at("parent", i) + ": parent " + std::to_string(p) + " is a user; users must be leaves");
    }
    if (t.shares[i] < 0 || t.shares[i] > 4294967295LL) {
      throw ConfigError(at("shares", i) + ": must be in [0, 2^32-1], got " + std::to_string(t.shares[i]));
    }
    if (!std::isfinite(t.usage[i]) || t.usage[i] < 0.0) {
      throw ConfigError(at("usage", i) + ": must be finite and >= 0, got " + std::to_string(t.usage[i]));
    }
  }
  if (root < 0) throw ConfigError("parent: no root association (parent -1); the tree is cyclic");
  if (t.is_user[root]) throw ConfigError(at("is_user", root) + ": the root must be an account");
}

void classic_fair_share(const AssocTree& t, double dampening, const FairShareColumns& out) {
  if (!std::isfinite(dampening) || dampening < 1.0) {
    throw ConfigError("dampening: FairShareDampeningFactor must be finite and >= 1, got " + std::to_string(dampening));
  }
  check_fields(t);
  const Children ch(t);
  const std::vector<int32_t>& order = checked_order(t, ch);
  const int root = order[0];
  double* agg = out.raw_usage;
  aggregate_usage(t, order, agg);
  std::vector<double>& level = scratch().level;
  level.resize(t.n);
  level_shares(t, level.data());
  const double total = agg[root];
  for (int32_t v : order) {
    const int32_t p = t.parent[v];
    out.norm_usage[v] = total > 0.0 ? agg[v] / total : 0.0;
    out.level_fs[v] = kNaN;
    if (p < 0) {
      out.norm_shares[v] = 1.0;
      out.effective_usage[v] = out.norm_usage[v];
      out.fair_share[v] = kNaN;
      continue;
    }
    out.norm_shares[v] = out.norm_shares[p] * level[v];
    const double ua = out.norm_usage[v];
    // U_E(child) = U_A + (U_E(parent) - U_A) * S_child / S_siblings; first-level accounts keep U_A.
    out.effective_usage[v] = (p == root) ? ua : ua + (out.effective_usage[p] - ua) * level[v];
    const double s = out.norm_shares[v];
    out.fair_share[v] = s > 0.0 ? std::exp2(-out.effective_usage[v] / s / dampening) : 0.0;
  }
}

void fair_tree(const AssocTree& t, const FairShareColumns& out) {
  check_fields(t);
  const Children ch(t);
  const std::vector<int32_t>& order = checked_order(t, ch);
  const int root = order[0];
  double* agg = out.raw_usage;
  aggregate_usage(t, order, agg);
  level_shares(t, out.norm_shares);  // Fair Tree's NormShares are the level shares
  const double total = agg[root];
  // Sort keys packed into two integers: the bits of a non-negative double order like its value,
  // so ~bits sorts level FS descending; then users (0) before accounts (1), then index. Each key
  // is written at its slot in the parent's children list, then each list is sorted.
  struct Key {
    uint64_t hi, lo;
    bool operator<(const Key& o) const { return hi < o.hi || (hi == o.hi && lo < o.lo); }
    int32_t id() const { return static_cast<int32_t>(lo & 0x7fffffffu); }
    bool account() const { return (lo >> 31) != 0; }
  };
  static thread_local std::vector<Key> sorted;
  sorted.resize(ch.list.size());
  int64_t users = 0;
  for (int v = 0; v < t.n; ++v) {
    const int32_t p = t.parent[v];
    users += t.is_user[v] ? 1 : 0;
    out.norm_usage[v] = total > 0.0 ? agg[v] / total : 0.0;
    out.fair_share[v] = kNaN;
    if (p < 0) {
      out.effective_usage[v] = 1.0;
      out.level_fs[v] = kNaN;
      continue;
    }
    const double s = out.norm_shares[v];
    const double u = agg[p] > 0.0 ? agg[v] / agg[p] : 0.0;
    out.effective_usage[v] = u;
    const double lf = s == 0.0 ? 0.0 : (u == 0.0 ? kInf : s / u);
    out.level_fs[v] = lf;
    uint64_t bits;
    std::memcpy(&bits, &lf, sizeof bits);
    sorted[ch.slot[v]] = {~bits, (static_cast<uint64_t>(t.is_user[v] ? 0 : 1) << 31) | static_cast<uint64_t>(v)};
  }
  // Depth-first ranking. Siblings go by level FS, highest first; equal level FS puts users before
  // accounts, then lower index first. A user ties with the previous sibling when their level FS
  // are equal; the first child of a tied account starts tied (Slurm carries the tie down).
  for (int v = 0; v < t.n; ++v) {
    if (ch.count(v) > 1) std::sort(sorted.data() + ch.start[v], sorted.data() + ch.start[v + 1]);
  }
  struct Frame {
    int32_t begin, pos, end;
    uint64_t prev;  // the previous sibling's key bits: equal bits <=> equal level FS
    bool tied_in;
  };
  int64_t rank = users, remaining = users;
  std::vector<Frame> stack;
  stack.push_back({ch.start[root], ch.start[root], ch.start[root + 1], 0, false});
  while (!stack.empty()) {
    Frame& f = stack.back();
    if (f.pos == f.end) {
      stack.pop_back();
      continue;
    }
    const Key key = sorted[f.pos];
    const int32_t id = key.id();
    const bool first = f.pos == f.begin;
    ++f.pos;
    const bool tied = first ? f.tied_in : key.hi == f.prev;
    f.prev = key.hi;
    const bool account = key.account();
    if (!account) {
      if (!tied) rank = remaining;
      out.fair_share[id] = static_cast<double>(rank) / static_cast<double>(users);
      --remaining;
    } else {
      stack.push_back({ch.start[id], ch.start[id], ch.start[id + 1], 0, tied});  // f is not used after this
    }
  }
}

}  // namespace aios::fairshare
