package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/cohort-cdp/cohort/engine"
)

// BenchOptions shape Bench.
type BenchOptions struct {
	Rate     int           // profile look-ups per second (open loop: sent on time whatever the answers)
	Duration time.Duration // how long to send them
	// Warmup sends look-ups at Rate for this long before the measured ones,
	// of other identifiers than those measured, and leaves them out of the
	// figures: a serving process that has run a while holds the warehouse
	// blocks its look-ups read, a fresh one reads them from disk first.
	Warmup   time.Duration
	Previews int // segment previews, one after the other
}

// Latency is a distribution of request times, in milliseconds.
type Latency struct {
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	P50      float64 `json:"p50_ms"`
	P95      float64 `json:"p95_ms"`
	P99      float64 `json:"p99_ms"`
	Max      float64 `json:"max_ms"`
	// CPU is the processor time of this process (user + system, all
	// threads: server, warehouse and load generator) per request, in
	// milliseconds: on a shared machine, what the wall clock cannot show.
	CPU float64 `json:"cpu_ms_per_request"`
}

// BenchReport is what Bench measured.
type BenchReport struct {
	Rate     int     `json:"rate"`
	Achieved float64 `json:"achieved_rate"`
	// Warmup is how long look-ups were sent before the measured ones.
	Warmup   float64 `json:"warmup_seconds"`
	Lookups  Latency `json:"lookups"`
	Previews Latency `json:"previews"`
	// FirstError is the first failed look-up, if any.
	FirstError string `json:"first_error,omitempty"`
}

func (r *BenchReport) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile look-ups at %d/s (sent %.0f/s): %d requests, %d errors, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms; %.1f ms of processor time each\n",
		r.Rate, r.Achieved, r.Lookups.Requests, r.Lookups.Errors, r.Lookups.P50, r.Lookups.P95, r.Lookups.P99, r.Lookups.Max, r.Lookups.CPU)
	if r.Warmup > 0 {
		fmt.Fprintf(&b, "  after %.0f s of look-ups at the same rate (other identifiers than those measured), left out of the figures\n", r.Warmup)
	}
	if r.FirstError != "" {
		fmt.Fprintf(&b, "  first error: %s\n", r.FirstError)
	}
	fmt.Fprintf(&b, "segment previews (one at a time): %d requests, %d errors, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms; %.1f ms of processor time each\n",
		r.Previews.Requests, r.Previews.Errors, r.Previews.P50, r.Previews.P95, r.Previews.P99, r.Previews.Max, r.Previews.CPU)
	return b.String()
}

// Bench serves the API of svc on a local port and measures it over HTTP
// from a load generator in this process: profile look-ups of identifiers
// of the last run at a steady rate, then segment previews as the builder
// sends them (an unsaved definition of two trait conditions and an event
// condition, changed each time so no cache answers it).
func Bench(ctx context.Context, svc *engine.Service, o BenchOptions) (*BenchReport, error) {
	interval := time.Second / time.Duration(max(o.Rate, 1))
	n, warm := int(o.Duration/interval), int(o.Warmup/interval)
	ids, err := svc.SampleIdentifiers(ctx, 5000+min(warm, 50000))
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("bench api: the identity graph is empty: run the project first")
	}
	token, tok, err := svc.CreateToken(ctx, fmt.Sprintf("bench-%d", time.Now().UnixNano()), "support")
	if err != nil {
		return nil, err
	}
	defer svc.RevokeToken(context.WithoutCancel(ctx), tok.Name)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: New(Options{Service: svc})}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512}, Timeout: 30 * time.Second}
	do := func(method, path string, body string) (time.Duration, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != http.StatusOK {
			return took, fmt.Errorf("%s %s: %s", method, path, resp.Status)
		}
		return took, nil
	}
	// warm up: the first look-up compiles and opens what later ones reuse
	if _, err := do("GET", "/api/v1/profiles/lookup?q="+url.QueryEscape(ids[0].Type+":"+ids[0].Value), ""); err != nil {
		return nil, err
	}

	measured := ids[:min(len(ids), 5000)]
	if warm > 0 {
		others := ids[len(measured):]
		if len(others) == 0 {
			others = measured // a graph this small has no others
		}
		steady(others, warm, interval, do)
	}

	rep := &BenchReport{Rate: o.Rate, Warmup: o.Warmup.Seconds()}
	cpu := cpuTime()
	times, errs, first, achieved := steady(measured, n, interval, do)
	rep.Achieved = achieved
	rep.Lookups = distribution(times, errs, cpuTime()-cpu)
	if first != nil {
		rep.FirstError = first.Error()
	}

	times, errs, cpu = nil, 0, cpuTime()
	countries := []string{"NL", "BE", "DE", "FR", "US"}
	for i := 0; i < o.Previews; i++ {
		def, _ := json.Marshal(map[string]any{"name": "bench_preview", "where": map[string]any{"all": []any{
			map[string]any{"trait": "country", "eq": countries[i%len(countries)]},
			map[string]any{"trait": "order_count", "gte": i % 4},
			map[string]any{"event": map[string]any{"source": "web_events", "within": fmt.Sprintf("%dd", 30+i%4)}},
		}}})
		took, err := do("POST", "/api/v1/segments/preview", string(def))
		if err != nil {
			errs++
			continue
		}
		times = append(times, took)
	}
	rep.Previews = distribution(times, errs, cpuTime()-cpu)
	return rep, nil
}

// steady sends n look-ups of ids (in turn) at one every interval, open
// loop, and returns the times of those answered, the errors and the rate
// achieved.
func steady(ids []engine.Ident, n int, interval time.Duration, do func(method, path, body string) (time.Duration, error)) (times []time.Duration, errs int, first error, achieved float64) {
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	start := time.Now()
	for i := 0; i < n; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		id := ids[i%len(ids)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			took, err := do("GET", "/api/v1/profiles/lookup?q="+url.QueryEscape(id.Type+":"+id.Value), "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				if first == nil {
					first = err
				}
				return
			}
			times = append(times, took)
		}()
	}
	sent := time.Since(start)
	wg.Wait()
	return times, errs, first, float64(n) / sent.Seconds()
}

func distribution(ts []time.Duration, errs int, cpu time.Duration) Latency {
	l := Latency{Requests: len(ts) + errs, Errors: errs}
	if len(ts) == 0 {
		return l
	}
	l.CPU = float64(cpu.Microseconds()) / 1000 / float64(l.Requests)
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	at := func(q float64) float64 {
		i := int(q*float64(len(ts))+0.5) - 1
		i = min(max(i, 0), len(ts)-1)
		return float64(ts[i].Microseconds()) / 1000
	}
	l.P50, l.P95, l.P99, l.Max = at(.50), at(.95), at(.99), float64(ts[len(ts)-1].Microseconds())/1000
	return l
}

// cpuTime is this process's processor time so far (user + system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
