package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// MemSample is the server's resident memory at one moment.
type MemSample struct {
	Bytes  int64  // -1 when unknown
	Source string // "proc" (VmRSS of the server's pid), "serverStatus" (mem.resident), or why it is unknown
}

func (m MemSample) known() bool { return m.Bytes >= 0 }

// sampleMem asks the server for serverStatus. When the server reports its
// pid and the URI names only loopback hosts, VmRSS from /proc/<pid>/status is
// used (byte-exact); otherwise mem.resident (MiB).
func (t *target) sampleMem(ctx context.Context) MemSample {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var st bson.Raw
	err := t.client.Database("admin").RunCommand(ctx, bson.D{{Key: "serverStatus", Value: 1}}).Decode(&st)
	if err != nil {
		return MemSample{Bytes: -1, Source: "serverStatus failed: " + err.Error()}
	}
	if pid, ok := st.Lookup("pid").AsInt64OK(); ok && pid > 0 && t.local {
		t.pid.Store(pid)
	}
	return memFromStatus(st, t.local, readVmRSS)
}

// memFromStatus picks the best memory figure from a serverStatus reply.
// readRSS reads a local pid's resident set size in bytes.
func memFromStatus(st bson.Raw, local bool, readRSS func(pid int64) (int64, error)) MemSample {
	if local {
		if pid, ok := st.Lookup("pid").AsInt64OK(); ok && pid > 0 {
			if rss, err := readRSS(pid); err == nil {
				return MemSample{Bytes: rss, Source: "proc"}
			}
		}
	}
	if mem, ok := st.Lookup("mem").DocumentOK(); ok {
		if mb, ok := mem.Lookup("resident").AsFloat64OK(); ok && mb >= 0 {
			return MemSample{Bytes: int64(mb * 1024 * 1024), Source: "serverStatus"}
		}
	}
	return MemSample{Bytes: -1, Source: "not reported"}
}

// readVmRSS reads VmRSS (in bytes) from /proc/<pid>/status.
func readVmRSS(pid int64) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return parseVmRSS(f)
}

func parseVmRSS(r interface{ Read([]byte) (int, error) }) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS line %q: %w", line, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS line")
}

// loopbackOnly reports whether every host is a loopback address or a unix
// socket, so that a pid the server reports is a pid on this machine.
func loopbackOnly(hosts []string) bool {
	if len(hosts) == 0 {
		return false
	}
	for _, h := range hosts {
		if strings.HasSuffix(h, ".sock") {
			continue
		}
		host, _, err := net.SplitHostPort(h)
		if err != nil {
			host = strings.Trim(h, "[]")
		}
		if host == "localhost" {
			continue
		}
		ip := net.ParseIP(host)
		if ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}
