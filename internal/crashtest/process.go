package crashtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// BuildServer builds cmd/cairn into dir and returns the binary's path. It
// must run inside the cairn module (go test does).
func BuildServer(ctx context.Context, dir string) (string, error) {
	bin := dir + "/cairn"
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/cairndb/cairn/cmd/cairn")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("crashtest: go build cmd/cairn: %w\n%s", err, out)
	}
	return bin, nil
}

// process is one running server.
type process struct {
	cmd     *exec.Cmd
	addr    string
	logPath string
	exited  chan struct{}
	waitErr error
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// startProcess starts the server on a free loopback port over dataDir and
// waits until it accepts connections. readyWait bounds the wait (a
// server that has not opened its storage by then is reported as failed).
func startProcess(bin, dataDir, logPath string, readyWait time.Duration) (*process, error) {
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		p, err := tryStart(bin, dataDir, logPath, readyWait)
		if err == nil {
			return p, nil
		}
		lastErr = err
		if !errors.Is(err, errExitedEarly) {
			break
		}
		// The port may have been taken between freeAddr and the server's
		// listen; try another one.
	}
	return nil, lastErr
}

var errExitedEarly = errors.New("server exited before accepting connections")

func tryStart(bin, dataDir, logPath string, readyWait time.Duration) (*process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logf, "=== starting %s on %s at %s\n", bin, addr, time.Now().Format(time.RFC3339Nano))
	// The smallest memtable makes the server rotate WAL files, flush and
	// compact while it is killed, and use and rewrite its pre-written WAL
	// files (1.1 MiB each), which the default 32 MiB would seldom do.
	cmd := exec.Command(bin, "--listen-addr", addr, "--data-dir", dataDir, "--log-level", "warn",
		"--memtable-size", "1048576")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("crashtest: start server: %w", err)
	}
	p := &process{cmd: cmd, addr: addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.exited)
	}()
	deadline := time.Now().Add(readyWait)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%w (%v); log tail:\n%s", errExitedEarly, p.waitErr, logTail(logPath, 20))
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("crashtest: server on %s not accepting connections after %v; log tail:\n%s", addr, readyWait, logTail(logPath, 20))
		}
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// stop shuts the server down with SIGTERM and reports whether it exited
// cleanly within wait (otherwise it is killed).
func (p *process) stop(wait time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(wait):
		p.kill()
		return fmt.Errorf("crashtest: server did not stop within %v of SIGTERM", wait)
	}
	if p.waitErr != nil {
		return fmt.Errorf("crashtest: server exited with %v after SIGTERM; log tail:\n%s", p.waitErr, logTail(p.logPath, 20))
	}
	return nil
}

func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
