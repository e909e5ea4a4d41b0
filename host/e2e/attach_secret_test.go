//go:build linux

// Attach mode keeps the Cursor key in the sidecar.

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conductorone/baton-cursor/internal/simulator"
)

// scHoldProxy forwards TCP connections to target, but only after release is
// closed, so the test can look at the processes of a host that is mid-call.
type scHoldProxy struct {
	ln       net.Listener
	accepted chan struct{}
	release  chan struct{}
	once     sync.Once
}

func scNewHoldProxy(t *testing.T, target string) *scHoldProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &scHoldProxy{ln: ln, accepted: make(chan struct{}), release: make(chan struct{})}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.once.Do(func() { close(p.accepted) })
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				<-p.release
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() { _, _ = io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
				_, _ = io.Copy(c, up)
			}()
		}
	}()
	t.Cleanup(func() {
		p.open()
		ln.Close()
	})
	return p
}

func (p *scHoldProxy) open() {
	select {
	case <-p.release:
	default:
		close(p.release)
	}
}

func TestAttachModeKeepsTheSecretInTheSidecar(t *testing.T) {
	key := secretKey()
	tenant, srv := newTenant(t, simulator.Config{Members: 50, Seed: 5, APIKey: key})
	side, base := scServe(t, scSettings(key, srv.URL), "--listen", "127.0.0.1:0", "--log-level", "debug")

	// The sidecar holds the key in its environment (which shows the /proc
	// reading below works) but not on its command line.
	if env, err := readProcFile(side.pid(), "environ"); err != nil {
		t.Fatalf("read sidecar environ: %v", err)
	} else if !bytes.Contains(env, []byte(key)) {
		t.Fatalf("the sidecar's /proc environ does not hold the key it was started with; the checks below would prove nothing")
	}
	if cmdline, err := readProcFile(side.pid(), "cmdline"); err != nil {
		t.Fatalf("read sidecar cmdline: %v", err)
	} else {
		requireNoSecret(t, "the sidecar's command line", cmdline, key)
	}

	proxy := scNewHoldProxy(t, scTarget(t, base))
	c1z := filepath.Join(t.TempDir(), "out.c1z")
	r := startHost(t, runOpts{Args: scAttachArgs("http://"+proxy.ln.Addr().String(), c1z, "--log-level", "debug")})

	// While the host's first call to the sidecar is held, read the
	// environment and command line of every host process.
	select {
	case <-proxy.accepted:
	case <-r.done:
		t.Fatalf("the host exited (code %d) before calling the sidecar; output:\n%s", r.exitCode(), tail(r.out.String(), 30))
	case <-time.After(60 * time.Second):
		t.Fatalf("the host did not call the sidecar within 60 s; output:\n%s", tail(r.out.String(), 30))
	}
	procs := processTree(r.cmd.Process.Pid)
	if len(procs) == 0 {
		t.Fatalf("no live host process found under %d", r.cmd.Process.Pid)
	}
	for _, p := range procs {
		where := fmt.Sprintf("host process %d %q", p.pid, p.argv)
		if slices.Contains(p.argv, pluginBin) || (len(p.argv) > 0 && p.argv[0] == pluginBin) {
			t.Errorf("%s: the host started a plugin subprocess in attach mode", where)
		}
		env, err := readProcFile(p.pid, "environ")
		if err != nil {
			t.Errorf("%s: read environ: %v", where, err)
			continue
		}
		requireNoSecret(t, "the environment of "+where, env, key)
		if bytes.Contains(env, []byte("BATON_CURSOR_API_KEY=")) {
			t.Errorf("the environment of %s holds BATON_CURSOR_API_KEY", where)
		}
		requireNoSecret(t, "the command line of "+where, []byte(strings.Join(p.argv, "\x00")), key)
	}
	t.Logf("checked %d host processes", len(procs))
	proxy.open()

	r.wait(t, 120*time.Second)
	if code := r.exitCode(); code != 0 {
		t.Fatalf("attached sync exited %d; output:\n%s", code, tail(r.out.String(), 30))
	}
	out := r.out.String()
	requireNoSecret(t, "the host's debug output", []byte(out), key)
	if !strings.Contains(out, `"level":"debug"`) {
		t.Errorf("the host's output has no debug lines; --log-level debug did not take effect")
	}
	requireNoSecret(t, "the sidecar's debug output", []byte(side.stdout.String()+side.stderr.String()), key)
	requireC1ZWithoutSecret(t, c1z, tenant, key)
}
