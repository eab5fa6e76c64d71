package devserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// stateFile, in the state directory, describes the running dev stack for
// the CLI's other commands and for a second "passreset dev". It exists only
// while a dev stack runs.
const stateFile = "dev.json"

// State is where a running dev stack answers.
type State struct {
	PID         int    `json:"pid"`
	API         string `json:"api"`      // "http://localhost:3000"
	DynamoDB    string `json:"dynamodb"` // DynamoDB Local's endpoint
	SES         string `json:"ses"`      // the SES emulator's endpoint and mail viewer
	TokensTable string `json:"tokens_table"`
	UsersTable  string `json:"users_table"`
	// Cognito and UserPool are, with USERS_BACKEND=cognito, where the
	// service's Cognito client goes (cognito-local, through a stand-in)
	// and the pool holding the accounts; "" otherwise.
	Cognito  string `json:"cognito,omitempty"`
	UserPool string `json:"user_pool,omitempty"`
}

// ErrNotRunning is ReadState finding no dev stack.
var ErrNotRunning = errors.New("no passreset dev is running (start one with make dev)")

// ReadState reads the state of the dev stack running from stateDir:
// ErrNotRunning when none is (no state file, or one left by a stack that
// died without removing it, whose lock is free).
func ReadState(stateDir string) (State, error) {
	data, err := os.ReadFile(filepath.Join(stateDir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return State{}, ErrNotRunning
	}
	if err != nil {
		return State{}, fmt.Errorf("dev state: %w", err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("dev state %s: %w", filepath.Join(stateDir, stateFile), err)
	}
	if !locked(filepath.Join(stateDir, "dev.lock")) {
		return State{}, ErrNotRunning
	}
	return st, nil
}

func writeState(path string, st State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("dev state: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("dev state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dev state: %w", err)
	}
	return nil
}
