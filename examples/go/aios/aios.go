// Package aios wraps the aios C API (aios/aios.h) for Go schedulers: a kube-scheduler or Volcano
// plugin keeps one Engine per cluster view and calls it from its Filter/Score/Reserve hooks.
//
// Build with the paths the Python package reports:
//
//	CGO_CFLAGS="-I$(python -m aios_core --include-dir)"
//	CGO_LDFLAGS="-L$(python -m aios_core --lib-dir) -Wl,-rpath,$(python -m aios_core --lib-dir)"
package aios

// #cgo LDFLAGS: -laios
// #include <stdlib.h>
// #include <aios/aios.h>
import "C"

import (
	"fmt"
	"unsafe"
)

// Error is a rejected call: the status name and the library's message.
type Error struct {
	Status  string
	Message string
}

func (e *Error) Error() string { return e.Status + ": " + e.Message }

func check(status C.aios_status) error {
	if status == C.AIOS_OK {
		return nil
	}
	return &Error{C.GoString(C.aios_status_name(C.int32_t(status))), C.GoString(C.aios_last_error())}
}

// Version is the loaded library's version string.
func Version() string { return C.GoString(C.aios_version_string()) }

// Cluster describes the nodes an Engine places onto.
type Cluster struct {
	Resources []string // e.g. cpu, memory, nvidia.com/gpu
	Capacity  []int64  // [nodes * resources], row-major
	GPUColumn int      // the milli-GPU resource, or -1
	Levels    int      // topology levels
	Domains   []int32  // [nodes * levels]
	Policy    string   // best_fit, most_allocated, ...
	Seed      uint64
}

// Engine is one placement engine. Its methods may be called from several goroutines.
type Engine struct {
	handle    C.aios_engine
	resources int
}

// cArray copies a slice into C memory: the desc struct is C memory and may not hold Go pointers.
func cArray[T any](s []T) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	size := C.size_t(len(s)) * C.size_t(unsafe.Sizeof(s[0]))
	p := C.malloc(size)
	copy(unsafe.Slice((*T)(p), len(s)), s)
	return p
}

// NewEngine builds an engine over the cluster; call Close when done.
func NewEngine(c Cluster) (*Engine, error) {
	r := len(c.Resources)
	if r == 0 || len(c.Capacity)%r != 0 {
		return nil, fmt.Errorf("aios: capacity holds %d values for %d resources", len(c.Capacity), r)
	}
	nodes := len(c.Capacity) / r
	names := make([]*C.char, r)
	for i, name := range c.Resources {
		names[i] = C.CString(name)
		defer C.free(unsafe.Pointer(names[i]))
	}
	desc := (*C.aios_engine_desc)(C.calloc(1, C.size_t(unsafe.Sizeof(C.aios_engine_desc{}))))
	defer C.free(unsafe.Pointer(desc))
	desc.nodes = C.int32_t(nodes)
	desc.resources = C.int32_t(r)
	desc.capacity = (*C.int64_t)(cArray(c.Capacity))
	defer C.free(unsafe.Pointer(desc.capacity))
	desc.capacity_len = C.size_t(len(c.Capacity))
	desc.resource_names = (**C.char)(cArray(names))
	defer C.free(unsafe.Pointer(desc.resource_names))
	desc.resource_names_len = C.size_t(r)
	desc.gpu_column = C.int32_t(c.GPUColumn)
	desc.levels = C.int32_t(c.Levels)
	desc.domains = (*C.int32_t)(cArray(c.Domains))
	defer C.free(unsafe.Pointer(desc.domains))
	desc.domains_len = C.size_t(len(c.Domains))
	desc.policy = C.CString(c.Policy)
	defer C.free(unsafe.Pointer(desc.policy))
	desc.seed = C.uint64_t(c.Seed)
	e := &Engine{resources: r}
	if err := check(C.aios_engine_create(desc, &e.handle)); err != nil {
		return nil, err
	}
	return e, nil
}

// Close destroys the engine; later calls return an AIOS_ERR_INVALID_HANDLE error.
func (e *Engine) Close() error { return check(C.aios_engine_destroy(e.handle)) }

func i64(s []int64) *C.int64_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int64_t)(unsafe.Pointer(&s[0]))
}

// PlaceBatch places tasks in order (requests [tasks * resources]); the node per task, -1 where
// it did not fit.
func (e *Engine) PlaceBatch(requests []int64, ids []int64) ([]int32, error) {
	nodes := make([]int32, len(ids)+1)
	err := check(C.aios_engine_place_batch(e.handle, C.size_t(len(ids)), i64(requests), C.size_t(len(requests)),
		i64(ids), C.size_t(len(ids)), nil, 0, nil, 0, (*C.int32_t)(unsafe.Pointer(&nodes[0])), C.size_t(len(ids))))
	return nodes[:len(ids)], err
}

// Gang says how a gang is placed (Ray placement-group strategies, Kueue-style topology).
type Gang struct {
	Strategy int // 0 PACK, 1 SPREAD, 2 STRICT_PACK, 3 STRICT_SPREAD
	Level    int // topology level, -1 for none
	Required bool
	MinCount int // 0: all members
}

// PlaceGang places all members (or at least MinCount) or none.
func (e *Engine) PlaceGang(requests []int64, ids []int64, g Gang) (bool, []int32, error) {
	nodes := make([]int32, len(ids)+1)
	var placed C.int32_t
	required := C.int32_t(0)
	if g.Required {
		required = 1
	}
	err := check(C.aios_engine_place_gang(e.handle, C.size_t(len(ids)), i64(requests), C.size_t(len(requests)),
		i64(ids), C.size_t(len(ids)), 0, 0, C.int32_t(g.MinCount), C.int32_t(g.Strategy),
		C.int32_t(g.Level), required, (*C.int32_t)(unsafe.Pointer(&nodes[0])), C.size_t(len(ids)), &placed))
	return placed != 0, nodes[:len(ids)], err
}

// Release frees tasks by id.
func (e *Engine) Release(ids []int64) error {
	return check(C.aios_engine_release(e.handle, i64(ids), C.size_t(len(ids))))
}

// Explain is kube-scheduler's sentence for a task that fits nowhere, "" when it fits.
func (e *Engine) Explain(request []int64) (string, error) {
	var needed C.size_t
	status := C.aios_engine_explain_text(e.handle, i64(request), C.size_t(len(request)), 0, nil, 0, &needed)
	if status != C.AIOS_ERR_BUFFER_TOO_SMALL {
		return "", check(status)
	}
	buf := make([]byte, int(needed))
	err := check(C.aios_engine_explain_text(e.handle, i64(request), C.size_t(len(request)), 0,
		(*C.char)(unsafe.Pointer(&buf[0])), needed, &needed))
	if err != nil {
		return "", err
	}
	return string(buf[:len(buf)-1]), nil
}

// Preempt finds victims of lower priority whose eviction lets one task fit (node -1: none
// helps); evict releases them.
func (e *Engine) Preempt(request []int64, priority int64, evict bool) (int32, []int64, []int32, error) {
	var info C.aios_engine_info
	if err := check(C.aios_engine_get_info(e.handle, &info)); err != nil {
		return -1, nil, nil, err
	}
	victims := make([]int64, int(info.tasks)+1)
	victimNodes := make([]int32, int(info.tasks)+1)
	var node C.int32_t
	var count C.size_t
	evictFlag := C.int32_t(0)
	if evict {
		evictFlag = 1
	}
	err := check(C.aios_engine_preempt(e.handle, 1, i64(request), C.size_t(len(request)), C.int64_t(priority), 0, -1,
		evictFlag, &node, i64(victims), (*C.int32_t)(unsafe.Pointer(&victimNodes[0])), C.size_t(info.tasks), &count))
	return int32(node), victims[:count], victimNodes[:count], err
}

// Allocated is the allocation [nodes * resources], row-major.
func (e *Engine) Allocated(nodes int) ([]int64, error) {
	out := make([]int64, nodes*e.resources+1)
	err := check(C.aios_engine_allocated(e.handle, i64(out), C.size_t(nodes*e.resources)))
	return out[:nodes*e.resources], err
}
