package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	"google.golang.org/grpc/codes"
)

// baton-sdk v0.25.0 races two exits when a one-shot run fails: the runner
// returns the error, and exit.LogExit exits with its gRPC code, while the
// goroutine watching the _connector-service child sees the child killed and
// calls os.Exit(0) (internal/connector/connector.go, runServer). Roughly one
// failed run in ten then exits 0, sometimes without printing the error. The
// supervisor runs baton-cursor as its child and corrects the status: a run
// whose runner logged a failure never exits 0. It can be dropped once
// baton-sdk stops exiting from that goroutine.
const (
	supervisedEnv = "BATON_CURSOR_SUPERVISED"
	// failureMarker is what baton-sdk's runner logs, at error level and before
	// the race begins, when a one-shot task fails.
	failureMarker = "runner: error processing on-demand task"
)

// needsSupervisor: the top-level invocation is supervised; the
// supervised process itself and baton-sdk's _connector-service child are not.
func needsSupervisor(args []string) bool {
	if os.Getenv(supervisedEnv) != "" {
		return false
	}
	for _, a := range args {
		if a == "_connector-service" {
			return false
		}
	}
	return true
}

// supervise runs this binary again with the same arguments and returns the
// exit code to use.
func supervise(args []string) int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "baton-cursor: %v\n", err)
		return int(codes.Internal)
	}
	// The run gets a temp dir of its own, removed when it ends however it
	// ends (SIGTERM, a plugin killed with -9, baton-sdk's os.Exit): baton-sdk's
	// sync upload file and c1z-pebble work dir and go-plugin's socket dir all
	// go under TMPDIR, and baton-sdk does not wait for a cancelled task's
	// cleanup. A pod's /tmp then never fills up across restarts.
	tmp, err := os.MkdirTemp("", "baton-cursor-run-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "baton-cursor: a temp dir for the run: %v (is TMPDIR writable?)\n", err)
		return int(codes.FailedPrecondition)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), supervisedEnv+"=1", "TMPDIR="+tmp)
	cmd.Stdin, cmd.Stdout = os.Stdin, os.Stdout
	dieWithParent(cmd)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		fmt.Fprintf(os.Stderr, "baton-cursor: %v\n", err)
		return int(codes.Internal)
	}
	// Signals sent to this process go to the run; a terminal's Ctrl-C reaches
	// both, which baton-sdk handles as one.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "baton-cursor: %v\n", err)
		return int(codes.Internal)
	}
	go func() {
		for sig := range sigs {
			_ = cmd.Process.Signal(sig)
		}
	}()

	failure := copyWatching(os.Stderr, stderr)
	err = cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil && failure != "":
		// The run failed but lost the race above: say so, with its code.
		fmt.Fprintln(os.Stderr, failure)
		return exitCodeOf(failure)
	case err == nil:
		return 0
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return exitErr.ExitCode()
	case errors.As(err, &exitErr):
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
	}
	fmt.Fprintf(os.Stderr, "baton-cursor: %v\n", err)
	return int(codes.Internal)
}

// copyWatching copies the run's stderr through and returns the error text of
// the runner's failure line, if one went by.
func copyWatching(dst io.Writer, src io.Reader) string {
	var failure string
	r := bufio.NewReaderSize(src, 64*1024)
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			_, _ = io.WriteString(dst, line)
			if strings.Contains(line, failureMarker) {
				failure = failureText(line)
			}
		}
		if err != nil {
			return failure
		}
	}
}

// failureText is the error in a failure line: the "error" field of a JSON
// log line, else the text after the marker (console format).
func failureText(line string) string {
	var entry struct {
		Error string `json:"error"`
	}
	if json.Unmarshal([]byte(line), &entry) == nil && entry.Error != "" {
		return entry.Error
	}
	_, after, _ := strings.Cut(line, failureMarker)
	return strings.TrimSpace(after)
}

var codeInError = regexp.MustCompile(`code = ([A-Za-z]+)`)

// exitCodeOf follows baton-sdk's exit codes: the gRPC code named in the
// error, else Unknown (2).
func exitCodeOf(text string) int {
	if m := codeInError.FindStringSubmatch(text); m != nil {
		for c := codes.OK + 1; c <= codes.Unauthenticated; c++ {
			if c.String() == m[1] {
				return int(c)
			}
		}
	}
	return int(codes.Unknown)
}
