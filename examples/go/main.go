// Places a scenario through the aios C API from Go, as a kube-scheduler or Volcano plugin would,
// and checks the answer (the engine's allocation equals what it placed, within capacity; a gang
// that needs one topology domain got one). Same input and output as the C example:
//
//	go run . scenario.txt     (stdin without an argument; format in examples/README.md)
//
// Exit 0 when every check holds, 1 when a check fails, 2 when the API rejects a call or the input.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"aiosexample/aios"
)

type scenario struct {
	cluster                 aios.Cluster
	nodes                   int
	batch, gang, batch2     []int64 // requests, row-major
	gangSpec                aios.Gang
	release, explainRequest []int64
	preemptPriority         int64
	preemptEvict            bool
	preemptRequest          []int64
}

type reader struct {
	in  io.Reader
	err error
}

func (r *reader) word(want string) {
	var got string
	if _, err := fmt.Fscan(r.in, &got); err != nil || got != want {
		r.fail(fmt.Errorf("input: expected %q, got %q", want, got))
	}
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) int() int64 {
	var v int64
	if _, err := fmt.Fscan(r.in, &v); err != nil {
		r.fail(fmt.Errorf("input: expected an integer: %w", err))
	}
	return v
}

func (r *reader) ints(n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = r.int()
	}
	return out
}

func read(in io.Reader) (*scenario, error) {
	r := &reader{in: bufio.NewReader(in)}
	s := &scenario{}
	c := &s.cluster
	r.word("policy")
	fmt.Fscan(r.in, &c.Policy)
	r.word("seed")
	fmt.Fscan(r.in, &c.Seed)
	r.word("resources")
	c.Resources = make([]string, r.int())
	for i := range c.Resources {
		fmt.Fscan(r.in, &c.Resources[i])
	}
	R := len(c.Resources)
	r.word("gpu_column")
	c.GPUColumn = int(r.int())
	r.word("levels")
	c.Levels = int(r.int())
	r.word("nodes")
	s.nodes = int(r.int())
	for i := 0; i < s.nodes && r.err == nil; i++ {
		c.Capacity = append(c.Capacity, r.ints(R)...)
		for _, d := range r.ints(c.Levels) {
			c.Domains = append(c.Domains, int32(d))
		}
	}
	r.word("batch")
	s.batch = r.ints(int(r.int()) * R)
	r.word("gang")
	members := int(r.int())
	s.gangSpec = aios.Gang{Strategy: int(r.int()), Level: int(r.int()), Required: r.int() != 0, MinCount: int(r.int())}
	s.gang = r.ints(members * R)
	r.word("release")
	s.release = r.ints(int(r.int()))
	r.word("batch")
	s.batch2 = r.ints(int(r.int()) * R)
	r.word("explain")
	s.explainRequest = r.ints(R)
	r.word("preempt")
	s.preemptPriority = r.int()
	s.preemptEvict = r.int() != 0
	s.preemptRequest = r.ints(R)
	return s, r.err
}

// ledger is what this program placed: node and request row per task id.
type ledger struct {
	node    map[int64]int32
	request map[int64][]int64
}

func (g *ledger) checkAllocation(e *aios.Engine, s *scenario, step string) bool {
	R := len(s.cluster.Resources)
	got, err := e.Allocated(s.nodes)
	must(err)
	want := make([]int64, len(got))
	for id, node := range g.node {
		if node < 0 {
			continue
		}
		for r := 0; r < R; r++ {
			want[int(node)*R+r] += g.request[id][r]
		}
	}
	ok := true
	for k := range got {
		if got[k] != want[k] || got[k] > s.cluster.Capacity[k] {
			fmt.Fprintf(os.Stderr, "check failed after %s: node %d resource %d allocated %d, placed %d\n", step, k/R, k%R, got[k], want[k])
			ok = false
		}
	}
	return ok
}

func ids(first int64, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = first + int64(i)
	}
	return out
}

func line(word string, nodes []int32) string {
	parts := []string{word}
	for _, n := range nodes {
		parts = append(parts, fmt.Sprint(n))
	}
	return strings.Join(parts, " ")
}

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "aios:", err)
		os.Exit(2)
	}
}

func main() {
	in := io.Reader(os.Stdin)
	if len(os.Args) > 1 {
		f, err := os.Open(os.Args[1])
		must(err)
		defer f.Close()
		in = f
	}
	s, err := read(in)
	must(err)
	R := len(s.cluster.Resources)
	e, err := aios.NewEngine(s.cluster)
	must(err)
	g := &ledger{node: map[int64]int32{}, request: map[int64][]int64{}}
	ok := true
	next := int64(0)

	batch := func(requests []int64, step string) {
		taskIDs := ids(next, len(requests)/R)
		next += int64(len(taskIDs))
		nodes, err := e.PlaceBatch(requests, taskIDs)
		must(err)
		fmt.Println(line("batch", nodes))
		for k, id := range taskIDs {
			g.node[id], g.request[id] = nodes[k], requests[k*R:(k+1)*R]
		}
		ok = g.checkAllocation(e, s, step) && ok
	}

	batch(s.batch, "the first batch")

	gangIDs := ids(next, len(s.gang)/R)
	next += int64(len(gangIDs))
	placed, nodes, err := e.PlaceGang(s.gang, gangIDs, s.gangSpec)
	must(err)
	placedFlag, domain, members := 0, int32(-1), 0
	if placed {
		placedFlag = 1
	}
	for k, id := range gangIDs {
		if !placed {
			nodes[k] = -1
		}
		g.node[id], g.request[id] = nodes[k], s.gang[k*R:(k+1)*R]
		if nodes[k] < 0 {
			continue
		}
		members++
		if s.gangSpec.Required && s.gangSpec.Level >= 0 {
			d := s.cluster.Domains[int(nodes[k])*s.cluster.Levels+s.gangSpec.Level]
			if domain >= 0 && d != domain {
				fmt.Fprintf(os.Stderr, "check failed: gang member %d is in domain %d, another in %d\n", k, d, domain)
				ok = false
			}
			domain = d
		}
	}
	fmt.Println(line(fmt.Sprintf("gang %d", placedFlag), nodes))
	need := s.gangSpec.MinCount
	if need == 0 {
		need = len(gangIDs)
	}
	if placed && members < need {
		fmt.Fprintf(os.Stderr, "check failed: gang placed %d members, fewer than %d\n", members, need)
		ok = false
	}
	ok = g.checkAllocation(e, s, "the gang") && ok

	must(e.Release(s.release))
	for _, id := range s.release {
		g.node[id] = -1
	}
	fmt.Printf("released %d\n", len(s.release))
	ok = g.checkAllocation(e, s, "the release") && ok

	batch(s.batch2, "the second batch")

	text, err := e.Explain(s.explainRequest)
	must(err)
	fmt.Println("explain " + text)

	node, victims, victimNodes, err := e.Preempt(s.preemptRequest, s.preemptPriority, s.preemptEvict)
	must(err)
	out := fmt.Sprintf("preempt %d", node)
	for k, id := range victims {
		out += fmt.Sprintf(" %d", id)
		if g.node[id] != victimNodes[k] {
			fmt.Fprintf(os.Stderr, "check failed: victim %d is on node %d, not %d\n", id, g.node[id], victimNodes[k])
			ok = false
		}
		if s.preemptEvict && node >= 0 {
			g.node[id] = -1
		}
	}
	fmt.Println(out)
	ok = g.checkAllocation(e, s, "the preemption") && ok

	must(e.Close())
	if !ok {
		os.Exit(1)
	}
}
