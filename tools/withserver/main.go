//go:build !wasm

// Command withserver runs a command beside a tether server started for it:
// it starts the server binary, waits until it serves, runs the command with
// TETHER_TEST_URL set to the server's address, stops the server and exits
// with the command's status. `make test-wasm` uses it, so the browser tests
// of conn/browser talk to a real server.
//
//	withserver -server bin/tether -- go test ./conn/browser/...
//
// Flags after the server path and before "--" go to the server.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"tether/internal/syncbuf"
)

// EnvURL is the variable the command finds the server's address in.
const EnvURL = "TETHER_TEST_URL"

func main() {
	server := "bin/tether"
	args := os.Args[1:]
	// The server's flags are passed through untouched, so they are not
	// parsed here: only a leading -server is withserver's own.
	if len(args) >= 2 && (args[0] == "-server" || args[0] == "--server") {
		server, args = args[1], args[2:]
	}
	split := slices.Index(args, "--")
	if split < 0 || split == len(args)-1 {
		fmt.Fprintln(os.Stderr, "usage: withserver [-server bin/tether] [server flags...] -- command [args...]")
		os.Exit(2)
	}
	os.Exit(run(server, args[:split], args[split+1:]))
}

func run(server string, serverArgs, command []string) int {
	data, err := os.MkdirTemp("", "tether-withserver-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "withserver:", err)
		return 1
	}
	defer os.RemoveAll(data)

	srv := exec.Command(server, append([]string{"-addr", "127.0.0.1:0", "-data", data}, serverArgs...)...)
	out, err := srv.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "withserver:", err)
		return 1
	}
	// The server's log would drown the command's output: it is shown only
	// when the command fails.
	var log syncbuf.Buffer
	srv.Stderr = &log
	if err := srv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "withserver:", err)
		return 1
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			srv.Process.Kill()
		}
	}()

	url, err := serving(out, 30*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, "withserver:", err)
		fmt.Fprint(os.Stderr, log.String())
		return 1
	}
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), EnvURL+"="+url)
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "withserver: the server's log:\n%s", log.String())
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, "withserver:", err)
		return 1
	}
	return 0
}

// serving reads the server's output until it prints the address it serves;
// the rest of the output is copied to stderr so the server's log stays
// visible next to the command's.
func serving(out io.Reader, timeout time.Duration) (string, error) {
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if url, ok := strings.CutPrefix(line, "tether serving "); ok && !sent {
				found <- strings.TrimSuffix(url, "/")
				sent = true
				continue
			}
			fmt.Fprintln(os.Stderr, "server:", line)
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case url, ok := <-found:
		if !ok {
			return "", errors.New("the server exited before serving")
		}
		return url, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("the server did not serve within %s", timeout)
	}
}
