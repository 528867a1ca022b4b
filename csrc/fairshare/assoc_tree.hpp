// Slurm's association tree and its two fair-share algorithms (priority/multifactor):
// the classic factor 2^(-U_E / S / d) with effective-usage propagation (classic_fair_share.shtml)
// and Fair Tree (fair_tree.shtml): level fair share S/U among siblings, a depth-first ranking,
// factor = rank / number of user associations.
//
// Complexity (n associations, c = largest number of children of one account):
//   validate_tree    O(n)
//   classic          O(n)
//   fair_tree        O(n log c) (each account sorts its children once); O(n) extra memory
#pragma once
#include <cstdint>
#include <vector>

namespace aios::fairshare {

struct AssocTree {
  int n = 0;
  const int32_t* parent = nullptr;   // [n], -1 for the single root
  const int64_t* shares = nullptr;   // [n], raw shares, 0 .. 2^32-1
  const double* usage = nullptr;     // [n], own raw usage (finite, >= 0); accounts add their children's
  const uint8_t* is_user = nullptr;  // [n], users are leaves
};

// Per-association results, shaped like sshare's columns. Entries that sshare leaves blank
// (LevelFS and FairShare of accounts in Fair Tree, everything of the root) hold NaN.
struct FairShareColumns {
  double* norm_shares = nullptr;      // classic: product down the tree; Fair Tree: within the level
  double* raw_usage = nullptr;        // own + descendants
  double* norm_usage = nullptr;       // raw / root raw (0 when the root has no usage)
  double* effective_usage = nullptr;  // classic: propagated U_E; Fair Tree: raw / parent raw
  double* level_fs = nullptr;         // Fair Tree: norm_shares / effective_usage (inf without usage)
  double* fair_share = nullptr;       // the fair-share factor in [0, 1]
};

// Checks the tree: one root, parents in range, no cycle or orphan, users are leaves, shares in
// range, usage finite and >= 0. Returns the breadth-first order (children in index order).
std::vector<int32_t> validate_tree(const AssocTree& t);
// The field checks of validate_tree without the reachability walk.
void check_fields(const AssocTree& t);

void classic_fair_share(const AssocTree& t, double dampening, const FairShareColumns& out);
void fair_tree(const AssocTree& t, const FairShareColumns& out);

}  // namespace aios::fairshare
