package state

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohort-cdp/cohort/dialects/dialecttest"
)

// TestMain doubles as a lease holder in another process: with
// COHORT_LEASE_HOLD set it takes the lease, says "held", and keeps it until
// its standard input closes (or it is killed).
func TestMain(m *testing.M) {
	if loc := os.Getenv("COHORT_LEASE_HOLD"); loc != "" {
		ctx := context.Background()
		s, err := Open(ctx, os.Getenv("COHORT_LEASE_DIR"), loc)
		if err == nil {
			var l *Lease
			if l, err = s.Acquire(ctx, "project:shop", "helper", time.Hour); err == nil {
				fmt.Println("held")
				_, _ = io.Copy(io.Discard, os.Stdin)
				err = l.Release(ctx)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder starts another process holding the lease; closing its stdin makes it release.
func holder(t *testing.T, dir, loc string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "COHORT_LEASE_HOLD="+loc, "COHORT_LEASE_DIR="+dir)
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "held\n", line)
	return cmd, in
}

func eachStore(t *testing.T, f func(t *testing.T, dir, loc string, s *Store)) {
	for name, open := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "state.db" },
		"postgres": func(t *testing.T) string { return dialecttest.NewPostgresDB(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir, loc := t.TempDir(), open(t)
			s, err := Open(context.Background(), dir, loc)
			require.NoError(t, err)
			defer s.Close()
			f(t, dir, loc, s)
		})
	}
}

// A lease held by another live process is refused with its holder; a
// waiter gets it when that process releases it; a holder killed with -9
// (no release, TTL far away) is known dead on this host and taken over.
func TestLeaseAcrossProcesses(t *testing.T) {
	eachStore(t, func(t *testing.T, dir, loc string, s *Store) {
		ctx := context.Background()
		cmd, in := holder(t, dir, loc)
		_, err := s.Acquire(ctx, "project:shop", "cohort run", time.Minute)
		var held *HeldError
		require.True(t, errors.As(err, &held), "%v", err)
		require.Equal(t, cmd.Process.Pid, held.By.PID)
		require.Contains(t, err.Error(), fmt.Sprintf("project:shop is held by helper (pid %d on ", cmd.Process.Pid))
		h, err := s.Holder(ctx, "project:shop")
		require.NoError(t, err)
		require.Equal(t, "helper", h.Holder)

		// Another key is free.
		other, err := s.Acquire(ctx, "project:other", "cohort run", time.Minute)
		require.NoError(t, err)
		require.NoError(t, other.Release(ctx))

		// Waiting: the holder releases once it is waited for.
		l, err := s.AcquireWait(ctx, "project:shop", "cohort run", time.Minute, func(h *HeldError) {
			require.Equal(t, cmd.Process.Pid, h.By.PID)
			require.NoError(t, in.Close())
		})
		require.NoError(t, err)
		require.NoError(t, cmd.Wait())
		require.NoError(t, l.Release(ctx))

		// kill -9: the row stays, its process is gone.
		cmd, _ = holder(t, dir, loc)
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		h, err = s.Holder(ctx, "project:shop")
		require.NoError(t, err)
		require.Nil(t, h, "a dead holder holds nothing")
		l, err = s.Acquire(ctx, "project:shop", "cohort run", time.Minute)
		require.NoError(t, err)
		require.Equal(t, os.Getpid(), l.Holder.PID)
		require.NoError(t, l.Release(ctx))
	})
}

// A holder on another machine is known gone only by its expiry; a holder
// that lost its lease sees Lost close.
func TestLeaseExpiry(t *testing.T) {
	eachStore(t, func(t *testing.T, dir, loc string, s *Store) {
		ctx := context.Background()
		l, err := s.Acquire(ctx, "project:shop", "cohort run", time.Hour)
		require.NoError(t, err)
		_, err = s.db.ExecContext(ctx, s.bind(`UPDATE leases SET host = ?, pid = ?`), "elsewhere", 1<<30)
		require.NoError(t, err)
		_, err = s.Acquire(ctx, "project:shop", "cohort run", time.Hour)
		var held *HeldError
		require.True(t, errors.As(err, &held), "another host's live lease: %v", err)
		require.Equal(t, "elsewhere", held.By.Host)

		later := time.Now().Add(2 * time.Hour)
		s.clock = func() time.Time { return later }
		l2, err := s.Acquire(ctx, "project:shop", "cohort run 2", time.Hour)
		require.NoError(t, err, "an expired lease is taken over")
		s.clock = nil
		require.NoError(t, l2.Release(ctx))

		// The first holder's renewal finds its row gone.
		s2, err := Open(ctx, dir, loc)
		require.NoError(t, err)
		defer s2.Close()
		short, err := s2.Acquire(ctx, "project:short", "a", 300*time.Millisecond)
		require.NoError(t, err)
		_, err = s.db.ExecContext(ctx, s.bind(`DELETE FROM leases WHERE key = ?`), "project:short")
		require.NoError(t, err)
		<-short.Lost()
		require.NoError(t, short.Release(ctx))
		require.NoError(t, l.Release(ctx))
	})
}
