package loadgen

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is the CPU time (user + system) the server and this process
// have used up to one moment. Server is -1 when unknown (the server is
// not local or does not report its pid).
type cpuSample struct {
	Server time.Duration
	Client time.Duration
}

// userHZ is the unit of the times in /proc/<pid>/stat: Linux reports them
// in USER_HZ, which is 100 on every architecture Go supports.
const userHZ = 100

// sampleCPU reads the server's CPU time from /proc/<pid>/stat (pid 0:
// unknown) and this process's from getrusage.
func sampleCPU(pid int64) cpuSample {
	s := cpuSample{Server: -1, Client: -1}
	if pid > 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if d, err := parseProcStatCPU(string(b)); err == nil {
				s.Server = d
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		s.Client = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s
}

// parseProcStatCPU returns utime + stime from the contents of
// /proc/<pid>/stat. The command name (field 2) is in parentheses and may
// hold spaces, so fields are counted from the last ')'.
func parseProcStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("loadgen: malformed /proc stat %q", stat)
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("loadgen: short /proc stat %q", stat)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("loadgen: /proc stat field %q: %w", s, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuPerOp divides the CPU used between two samples by ops, in
// microseconds; -1 when unknown.
func cpuPerOp(a, b time.Duration, ops uint64) float64 {
	if a < 0 || b < 0 || ops == 0 {
		return -1
	}
	return micros(b-a) / float64(ops)
}
