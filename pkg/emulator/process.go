package emulator

import (
	"fmt"
	"io"
	"os/exec"
	"time"

	"github.com/passreset/passreset/pkg/child"
)

// stopGrace is how long a child gets to exit on SIGTERM before SIGKILL.
// DynamoDB Local with a data directory closes its SQLite files on the way
// out; in memory it has nothing to save.
const stopGrace = 5 * time.Second

// process is one running emulator.
type process struct {
	proc     *child.Process
	path     string // the executable, for errors
	endpoint string
	tail     *tailBuffer // the last lines it printed, for errors
}

// startProcess runs argv as a child (see package child), copying its output
// to out and to a tail kept for error messages.
func startProcess(argv []string, out io.Writer) (*process, error) {
	p := &process{path: argv[0], tail: &tailBuffer{}}
	w := io.MultiWriter(out, p.tail)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.WaitDelay = stopGrace
	c, err := child.Start(cmd)
	if err != nil {
		return nil, err
	}
	p.proc = c
	return p, nil
}

// stop ends the emulator and anything it started, and waits for it to be
// reaped. It is safe to call more than once.
func (p *process) stop() error {
	if err := p.proc.Stop(stopGrace); err != nil {
		return fmt.Errorf("emulator: stop %s: %w", p.path, err)
	}
	return nil
}
