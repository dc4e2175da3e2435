//go:build !wasm

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"
)

// child is a child process of the harness, seen from it: the harness
// writes to its standard input and reads what it says, a line at a time.
// Both the abuser and the cluster's hold workers are children.
type child struct {
	cmd   *exec.Cmd
	who   string // names the child in errors: "the abuser exited…"
	stdin io.WriteCloser
	lines chan string
	done  chan struct{} // closed once the process exited
}

// startChild starts cmd, its standard error on the harness's, and reads
// its standard output into lines (each of at most maxLine bytes) until it
// ends.
func startChild(cmd *exec.Cmd, who string, maxLine int) (*child, error) {
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start the %s: %w", who, err)
	}
	c := &child{cmd: cmd, who: who, stdin: stdin, lines: make(chan string, 4), done: make(chan struct{})}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, bufio.MaxScanTokenSize), maxLine)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	go func() { cmd.Wait(); close(c.done) }()
	return c, nil
}

// line waits for the child's next line, which ought to start with word.
func (c *child) line(word string, timeout time.Duration) (string, error) {
	select {
	case line, ok := <-c.lines:
		if !ok {
			return "", fmt.Errorf("the %s exited before saying %q", c.who, word)
		}
		return line, nil
	case <-time.After(timeout):
		return "", fmt.Errorf("no %q from the %s within %v", word, c.who, timeout)
	}
}
