// Read-only engine calls: explain (codes and kube-scheduler's sentence), scores, allocation, tasks.
// They share the engine's lock with each other (the C API has no fgd policy, whose scores would
// fill a cache) and wait for calls that change it.
#include <algorithm>
#include <climits>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "capi/engine_registry.hpp"
#include "capi/guard.hpp"

namespace pl = aios::placement;
using aios::capi::EngineBox;
using aios::capi::guard;
using aios::capi::lookup_engine;
using aios::capi::need_len;
using aios::capi::need_out;
using aios::capi::need_ptr;

namespace {

// Live nodes where the request fits now, counted as the Python API does (a finite score).
int32_t feasible_nodes(const pl::Engine& e, const int64_t* req, int32_t cid) {
  std::vector<int64_t> scores(static_cast<size_t>(e.node_slots()));
  e.scores(req, cid, scores.data());
  return static_cast<int32_t>(std::count_if(scores.begin(), scores.end(), [](int64_t s) { return s != INT64_MIN; }));
}

std::string reason_text(const EngineBox& box, int code) {
  switch (code) {
    case AIOS_REASON_UNSCHEDULABLE: return "node(s) were unschedulable";
    case AIOS_REASON_TAINT: return "node(s) had untolerated taint(s)";
    case AIOS_REASON_AFFINITY: return "node(s) didn't match Pod's node affinity/selector";
    case AIOS_REASON_ANTI_AFFINITY: return "node(s) didn't match pod anti-affinity rules";
    default: break;
  }
  const std::string& name = box.resource_names.at(static_cast<size_t>(code - AIOS_REASON_INSUFFICIENT));
  return name == "pods" ? "Too many pods" : "Insufficient " + name;
}

// "0/N nodes are available: <count> <reason>, ...." with entries sorted as text, "" when it fits.
std::string explain_text(const EngineBox& box, const int64_t* req, int32_t cid) {
  const pl::Engine& e = box.engine;
  if (feasible_nodes(e, req, cid) > 0) return "";
  std::map<std::string, int64_t> by_reason;  // two resources named "pods" share one text
  for (const auto& [code, count] : e.explain(req, cid)) by_reason[reason_text(box, code)] += count;
  std::vector<std::string> entries;
  for (const auto& [reason, count] : by_reason) entries.push_back(std::to_string(count) + " " + reason);
  std::sort(entries.begin(), entries.end());
  std::string text = "0/" + std::to_string(e.live_nodes()) + " nodes are available";
  for (size_t k = 0; k < entries.size(); ++k) text += (k ? ", " : ": ") + entries[k];
  return text + ".";
}

}  // namespace

extern "C" {

aios_status aios_engine_explain(aios_engine engine, const int64_t* request, size_t request_len, int32_t constraint,
                                int32_t* out_codes, int64_t* out_counts, size_t out_len, size_t* out_entries,
                                int32_t* out_feasible_nodes) {
  return guard([&] {
    need_ptr(out_entries, "out_entries");
    need_ptr(out_feasible_nodes, "out_feasible_nodes");
    auto box = lookup_engine(engine);
    std::shared_lock<std::shared_mutex> hold(box->lock);
    const pl::Engine& e = box->engine;
    need_len(request, request_len, static_cast<size_t>(e.resources()), "request");
    const auto reasons = e.explain(request, constraint);
    need_out(out_codes, out_len, reasons.size(), "out_codes");
    need_out(out_counts, out_len, reasons.size(), "out_counts");
    const int32_t feasible = feasible_nodes(e, request, constraint);
    for (size_t k = 0; k < reasons.size(); ++k) {
      out_codes[k] = reasons[k].first;
      out_counts[k] = reasons[k].second;
    }
    *out_entries = reasons.size();
    *out_feasible_nodes = feasible;
  });
}

aios_status aios_engine_explain_text(aios_engine engine, const int64_t* request, size_t request_len,
                                     int32_t constraint, char* buffer, size_t buffer_len, size_t* out_needed) {
  return guard([&] {
    need_ptr(out_needed, "out_needed");
    auto box = lookup_engine(engine);
    std::shared_lock<std::shared_mutex> hold(box->lock);
    need_len(request, request_len, static_cast<size_t>(box->engine.resources()), "request");
    const std::string text = explain_text(*box, request, constraint);
    *out_needed = text.size() + 1;
    need_out(buffer, buffer_len, text.size() + 1, "buffer");
    std::copy(text.begin(), text.end(), buffer);
    buffer[text.size()] = '\0';
  });
}

aios_status aios_engine_scores(aios_engine engine, const int64_t* request, size_t request_len, int32_t constraint,
                               int64_t* out, size_t out_len) {
  return guard([&] {
    auto box = lookup_engine(engine);
    std::shared_lock<std::shared_mutex> hold(box->lock);
    const pl::Engine& e = box->engine;
    need_len(request, request_len, static_cast<size_t>(e.resources()), "request");
    need_out(out, out_len, static_cast<size_t>(e.node_slots()), "out");
    e.scores(request, constraint, out);
  });
}

aios_status aios_engine_allocated(aios_engine engine, int64_t* out, size_t out_len) {
  return guard([&] {
    auto box = lookup_engine(engine);
    std::shared_lock<std::shared_mutex> hold(box->lock);
    const pl::Engine& e = box->engine;
    need_out(out, out_len, static_cast<size_t>(e.node_slots()) * static_cast<size_t>(e.resources()), "out");
    e.allocated(out);
  });
}

aios_status aios_engine_get_task(aios_engine engine, int64_t id, aios_task_info* out) {
  return guard([&] {
    need_ptr(out, "out");
    auto box = lookup_engine(engine);
    std::shared_lock<std::shared_mutex> hold(box->lock);
    const pl::TaskInfo t = box->engine.task(id);
    *out = aios_task_info{t.node, t.priority, t.gpu_mask, t.share_gpu, t.share_milli};
  });
}

}  // extern "C"
