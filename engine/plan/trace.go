package plan

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Trace is where and how a run reports its slow statements (COHORT_TRACE):
// Mode "" is off, "sql" prints whole statements, anything else their first
// line. Hook, when set, is told of every statement instead (the identity
// benchmark, tests).
type Trace struct {
	Mode string
	Out  io.Writer
	Hook func(sql string, d time.Duration, cpu float64)
}

// SlowStatement is the time from which a trace prints a statement.
const SlowStatement = 200 * time.Millisecond

func (t Trace) on() bool { return t.Hook != nil || t.Mode != "" }

// Report tells the trace that a statement took d, and cpu seconds of this
// process's processor time (the embedded warehouse's work counts there).
func (t Trace) Report(sql string, d time.Duration, cpu float64) {
	if t.Hook != nil {
		t.Hook(sql, d, cpu)
		return
	}
	if t.Mode == "" || d < SlowStatement {
		return
	}
	_, body := SplitComment(sql)
	text := strings.TrimSpace(body)
	if t.Mode != "sql" {
		text, _, _ = strings.Cut(text, "\n")
		text = text[:min(len(text), 90)]
	}
	fmt.Fprintf(t.Out, "           %6.2fs (cpu %6.2fs)  %s\n", d.Seconds(), cpu, text)
}

// SplitComment splits a statement into its leading comment lines and the
// rest.
func SplitComment(sql string) (string, string) {
	var c strings.Builder
	for strings.HasPrefix(sql, "--") {
		i := strings.IndexByte(sql, '\n')
		if i < 0 {
			break
		}
		c.WriteString(sql[:i+1])
		sql = sql[i+1:]
	}
	return c.String(), sql
}

// CPUSeconds is this process's user + system time so far.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// PeakRSS is a process's peak resident memory in bytes (VmHWM; proc is
// "self" or a process id), 0 where it cannot be read. Unlike the kernel's
// ru_maxrss, it starts afresh when the process starts another program.
func PeakRSS(proc string) int64 {
	f, err := os.Open("/proc/" + proc + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
