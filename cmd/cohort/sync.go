package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/debug"
	"sort"
	"strings"
	stdsync "sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohort-cdp/cohort/engine"
	"github.com/cohort-cdp/cohort/engine/destinations/webhook"
	"github.com/cohort-cdp/cohort/engine/state"
)

func syncCmd(g *globals) *cobra.Command {
	var all, dry, wait, showPII bool
	var sample int
	c := &cobra.Command{
		Use:   "sync NAME... | --all",
		Short: "Send the changes of syncs to their destinations (--dry-run: show them, send nothing)",
		Long: "Computes in the warehouse what was added, changed and removed since the destination last\n" +
			"acknowledged, and sends only that. A run whose rows did not all arrive exits 1 (status partial\n" +
			"or failed); those rows are offered again on the next run.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return usagef("sync: name one or more syncs, or pass --all")
			}
			if sample < 1 {
				return usagef("--sample %d: a dry run shows 1 or more changes of each kind (default 5); the counts are always shown", sample)
			}
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			// A sync streams and lets go of small batches: collecting
			// garbage sooner keeps the process small (with DuckDB in it,
			// under 200 MB on a million members) for a little processor time.
			debug.SetGCPercent(50)
			o := engine.SyncOptions{Names: args, All: all, DryRun: dry, Sample: sample}
			if wait {
				o.Waiting = func(held *state.HeldError) {
					fmt.Fprintf(os.Stderr, "waiting for %s to finish with project %s ...\n", engine.Holder(held.By, svc.Project.Location()), svc.Project.Name)
				}
			}
			bar := g.progressBar()
			o.Progress = bar.update
			results, err := svc.Sync(cmd.Context(), o)
			bar.done()
			if dry {
				redact(cmd, svc, showPII, "sync "+strings.Join(args, ","), results)
			}
			out := cmd.OutOrStdout()
			if g.json {
				if perr := printJSON(out, results); perr != nil {
					return perr
				}
				return err
			}
			for _, r := range results {
				printSync(out, r, dry)
			}
			return err
		},
	}
	c.Flags().BoolVar(&all, "all", false, "every sync of the project")
	c.Flags().BoolVar(&dry, "dry-run", false, "count the changes and show a sample of each kind; send and write nothing")
	c.Flags().IntVar(&sample, "sample", 5, "dry run: changes shown per kind")
	showPIIFlag(c, &showPII)
	c.Flags().BoolVar(&wait, "wait", false, "when a run or another sync of the project is going on, wait for it instead of failing")
	c.AddCommand(syncHistoryCmd(g))
	return c
}

func printSync(w io.Writer, r *engine.SyncResult, dry bool) {
	run := r.Run
	fmt.Fprintf(w, "sync %s → %s (mode %s, region %s)\n", run.Sync, run.Destination, run.Mode, r.Region)
	fmt.Fprintf(w, "  consent: %s\n", r.Consent)
	p := r.Planned
	fmt.Fprintf(w, "  diff: %d to add, %d to update, %d to remove (computed in %s)\n", p.Adds, p.Changes, p.Removes, r.DiffTime.Round(time.Millisecond))
	if dry {
		for _, c := range r.Sample {
			fmt.Fprintf(w, "    %-6s %s  %s%s\n", c.Op, c.ProfileID, pairs(c.Key), fieldText(c.Fields))
		}
		fmt.Fprintln(w, "  dry run: nothing was sent or written")
		return
	}
	fmt.Fprintf(w, "  sent: %d added, %d updated, %d removed, %d rejected, %d pending (%s, %s)\n",
		run.Added, run.Changed, run.Removed, run.Rejected, run.Pending, engine.Count(int64(r.Stats.Retried), "re-send"), engine.Count(int64(r.Stats.Requests), "request"))
	took := ""
	if run.FinishedAt != nil {
		took = " in " + run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond).String()
	}
	fmt.Fprintf(w, "  %s%s (run %s)\n", strings.ToUpper(run.Status[:1])+run.Status[1:], took, run.ID)
	if run.Error != "" {
		fmt.Fprintf(w, "  %s\n", firstLine(run.Error))
	}
}

func pairs(m map[string]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var s []string
	for _, k := range keys {
		s = append(s, k+"="+m[k])
	}
	return strings.Join(s, " ")
}

func fieldText(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var s []string
	for _, k := range keys {
		v := m[k]
		switch x := v.(type) {
		case time.Time: // as it is sent
			v = x.UTC().Format(time.RFC3339)
		case nil: // sent as a JSON null
			v = "null"
		}
		s = append(s, fmt.Sprintf("%s=%v", k, v))
	}
	return "  " + strings.Join(s, " ")
}

func syncHistoryCmd(g *globals) *cobra.Command {
	var limit int
	var showPII bool
	c := withLimit(&cobra.Command{
		Use:   "history NAME",
		Short: "The runs of one sync, newest first, with rejected rows and their reasons",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			h, err := svc.SyncHistory(cmd.Context(), args[0], limit, 5)
			if err != nil {
				return err
			}
			redact(cmd, svc, showPII, "sync history "+args[0], h) // the rejected rows' match keys name people
			out := cmd.OutOrStdout()
			if g.json {
				return printJSON(out, h)
			}
			if len(h.Runs) == 0 {
				fmt.Fprintf(out, "sync %s has not run yet\n", args[0])
			}
			for _, r := range h.Runs {
				fmt.Fprintf(out, "%s  %s  %-9s %8s  +%d ~%d -%d  rejected %d  pending %d  re-sent %d\n", r.ID,
					engine.ShowTime(r.StartedAt, svc.Project.Location()), r.Status, took(r), r.Added, r.Changed, r.Removed, r.Rejected, r.Pending, r.Retried)
				if r.Error != "" {
					fmt.Fprintf(out, "    %s\n", firstLine(r.Error))
				}
				for _, x := range h.Rejections[r.ID] {
					fmt.Fprintf(out, "    rejected %s (%s): %s\n", x.Key, x.ProfileID, x.Reason)
				}
			}
			return nil
		},
	}, &limit)
	showPIIFlag(c, &showPII)
	return c
}

// withLimit gives c a --limit: how many runs to show, 1 or more (0 showed
// none and said the project or sync had not run).
func withLimit(c *cobra.Command, limit *int) *cobra.Command {
	c.Flags().IntVar(limit, "limit", 20, "how many runs to show (1 or more)")
	run := c.RunE
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if *limit < 1 {
			return usagef("--limit %d: show 1 or more runs (default 20)", *limit)
		}
		return run(cmd, args)
	}
	return c
}

func took(r state.SyncRun) string {
	if r.FinishedAt == nil {
		return "running"
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

func syncsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "syncs",
		Short: "The project's syncs, each with its last run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, err := g.service()
			if err != nil {
				return err
			}
			defer svc.Close()
			list, err := svc.Syncs(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if g.json {
				return printJSON(out, list)
			}
			for _, s := range list {
				fmt.Fprintf(out, "%-28s %-20s → %-16s %-7s", s.Name, s.Segment, s.Destination, s.Mode)
				if r := s.LastRun; r != nil {
					fmt.Fprintf(out, "  last: %s %s  +%d ~%d -%d  rejected %d  pending %d", engine.ShowTime(r.StartedAt, svc.Project.Location()),
						r.Status, r.Added, r.Changed, r.Removed, r.Rejected, r.Pending)
				} else {
					fmt.Fprint(out, "  never run")
				}
				fmt.Fprintln(out)
			}
			return nil
		},
	}
}

// bar is a progress bar on standard error for a terminal; silent otherwise.
type bar struct {
	on   bool
	mu   stdsync.Mutex
	last time.Time
	line bool
}

func (g *globals) progressBar() *bar { return &bar{on: g.interactive()} }

func (b *bar) update(name string, done, total int64) {
	if !b.on || total == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if done < total && time.Since(b.last) < 100*time.Millisecond {
		return
	}
	b.last = time.Now()
	const width = 30
	n := int(done * width / total)
	fmt.Fprintf(os.Stderr, "\r  %s [%s%s] %d/%d", name, strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
	b.line = true
}

func (b *bar) done() {
	if b.line {
		fmt.Fprintln(os.Stderr)
	}
}

// webhookReceiverCmd is a local receiver of Cohort's webhook for the demo
// and the benchmark: it verifies signatures, applies each event once and
// prints what it received when stopped (or on GET /counts).
func webhookReceiverCmd() *cobra.Command {
	var addr, secret string
	c := &cobra.Command{
		Use:    "webhook-receiver",
		Short:  "A local receiver of the webhook destination (demo, benchmark)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r := &webhook.Receiver{Secret: secret}
			mux := http.NewServeMux()
			mux.Handle("/", r)
			mux.HandleFunc("GET /counts", func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(r.Counts())
			})
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("webhook-receiver: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "webhook receiver on http://%s/ (secret from --secret)\n", l.Addr())
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			b, _ := json.Marshal(r.Counts())
			fmt.Fprintf(cmd.OutOrStdout(), "webhook receiver stopped: %s\n", b)
			return nil
		},
	}
	c.Flags().StringVar(&addr, "addr", "127.0.0.1:9999", "where to listen")
	c.Flags().StringVar(&secret, "secret", "demo-secret", "the shared secret signatures are checked with")
	return c
}

// benchSyncCmd times a first sync of a generated audience to a webhook
// receiver in another process, and a re-sync after a few changed. Each sync
// is `cohort sync` in a process of its own, as a user runs it, so that its
// peak memory is the sync's and not the generator's.
func benchSyncCmd(g *globals) *cobra.Command {
	var (
		members, threads, changed int
		memLimit, keep            string
	)
	c := &cobra.Command{
		Use:   "sync",
		Short: "Sync a generated audience to a local webhook receiver, then again after 1% changed",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			if g.json {
				out = io.Discard
			}
			url, stop, err := startReceiver(ctx)
			if err != nil {
				return err
			}
			defer stop()
			dir := keep
			if dir == "" {
				if dir, err = os.MkdirTemp("", "cohort-bench-sync-"); err != nil {
					return err
				}
				defer os.RemoveAll(dir)
			}
			o := engine.SyncBenchOptions{Members: members, URL: url, Secret: benchSecret, Changed: changed, MemoryLimit: memLimit, Threads: threads}
			rep := &engine.SyncBenchReport{Members: members}
			fmt.Fprintf(out, "generating %d members in %s ...\n", members, dir)
			start := time.Now()
			if err := engine.BenchSyncProject(ctx, dir, o); err != nil {
				return err
			}
			rep.Generate = time.Since(start).Seconds()
			fmt.Fprintf(out, "first sync of %d members (cohort sync in its own process) ...\n", members)
			if rep.First, err = benchSyncProcess(ctx, dir); err != nil {
				return err
			}
			r := rep.First
			fmt.Fprintf(out, "  %d sent in %.1fs (%.0f records/s; diff %.2fs; %.1f s of processor time), peak RSS %.0f MB\n",
				r.Sent, r.Seconds, r.RecordsPerSecond, r.DiffSeconds, r.CPUSeconds, r.PeakRSSMB)
			if err := engine.BenchSyncChange(ctx, dir, changed); err != nil {
				return err
			}
			fmt.Fprintf(out, "re-sync after %d%% of members changed ...\n", changed)
			if rep.Rerun, err = benchSyncProcess(ctx, dir); err != nil {
				return err
			}
			r = rep.Rerun
			fmt.Fprintf(out, "  %d sent in %.1fs (diff %.2fs; %.1f s of processor time), peak RSS %.0f MB\n",
				r.Sent, r.Seconds, r.DiffSeconds, r.CPUSeconds, r.PeakRSSMB)
			if g.json {
				return printJSON(cmd.OutOrStdout(), rep)
			}
			return nil
		},
	}
	c.Flags().IntVar(&members, "members", 1_000_000, "audience size")
	c.Flags().IntVar(&changed, "changed", 1, "percent of members changed before the second sync")
	c.Flags().StringVar(&memLimit, "memory-limit", "", "the project's warehouse.memory_limit (default: none, as a project that sets none)")
	c.Flags().IntVar(&threads, "threads", 0, "the project's warehouse.threads (0: all cores)")
	c.Flags().StringVar(&keep, "keep", "", "build the project in this folder and keep it (default: a temporary folder)")
	return c
}

// benchSyncProcess runs `cohort --json sync bench` on the project in dir
// as a process of its own and measures it from the outside: wall time,
// processor time from the kernel's accounting, and peak resident memory
// sampled from /proc (the kernel's ru_maxrss would start at this process's
// peak, the generator's).
func benchSyncProcess(ctx context.Context, dir string) (engine.SyncBenchRun, error) {
	var r engine.SyncBenchRun
	exe, err := os.Executable()
	if err != nil {
		return r, err
	}
	cmd := exec.CommandContext(ctx, exe, "--json", "--project", dir, "sync", engine.BenchSyncName)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	if err = cmd.Start(); err == nil {
		peak := engine.WatchPeakRSS(cmd.Process.Pid)
		err = cmd.Wait()
		r.PeakRSSMB = float64(peak()) / (1 << 20)
	}
	r.Seconds = time.Since(start).Seconds()
	if err != nil {
		return r, fmt.Errorf("cohort sync %s: %w\n%s%s", engine.BenchSyncName, err, stderr.String(), stdout.String())
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.CPUSeconds = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	var res []engine.SyncResult
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil || len(res) != 1 {
		return r, fmt.Errorf("cohort sync %s printed %q: %v", engine.BenchSyncName, stdout.String(), err)
	}
	r.DiffSeconds = res[0].DiffTime.Seconds()
	r.Sent = res[0].Stats.Delivered()
	r.RecordsPerSecond = float64(r.Sent) / r.Seconds
	r.Status = res[0].Run.Status
	return r, nil
}

const benchSecret = "bench-secret"

// startReceiver starts `cohort webhook-receiver` in another process on a
// free port, so that its memory is not the benchmark's, and returns its URL.
func startReceiver(ctx context.Context) (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "webhook-receiver", "--addr", "127.0.0.1:0", "--secret", benchSecret)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	rd := bufio.NewReader(stdout)
	line, err := rd.ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return "", nil, fmt.Errorf("webhook receiver did not start: %w", err)
	}
	i := strings.Index(line, "http://")
	j := strings.Index(line, " (")
	if i < 0 || j < i {
		_ = cmd.Process.Kill()
		return "", nil, fmt.Errorf("webhook receiver said %q", line)
	}
	base := line[i:j]
	stop := func() {
		if resp, err := http.Get(base + "counts"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Fprintf(os.Stderr, "receiver counts: %s", b)
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_, _ = io.Copy(io.Discard, rd)
		_ = cmd.Wait()
	}
	return base + "cohort", stop, nil
}
