package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// user runs "user add" and "user check". The code is exitMismatch when a
// check does not match.
func (c cli) user(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return exitError, usageError("user: want user add or user check")
	}
	sub := args[0]
	fs := c.flags("user " + sub)
	tf := addTargetFlags(fs)
	email := fs.String("email", "", "the account's `email`")
	pw := fs.String("password", "", "the `password` (- reads it from standard input)")
	var username, id *string
	if sub == "add" {
		username = fs.String("username", "", "the account's user `name` (optional)")
		id = fs.String("id", "", "the account's `key` in the users table (default: a random u-…)")
	}
	rest, err := parse(fs, args[1:])
	if err != nil {
		return exitError, err
	}
	if len(rest) > 0 {
		return exitError, usageError(fmt.Sprintf("user %s takes no arguments, got %q", sub, rest))
	}
	if *email == "" || *pw == "" {
		return exitError, usageError(fmt.Sprintf("user %s: --email and --password are required", sub))
	}
	plain, err := c.readPassword(*pw)
	if err != nil {
		return exitError, err
	}
	t, err := c.resolve(ctx, tf)
	if err != nil {
		return exitError, err
	}
	store := dynamo.New(t.db, t.tokens, t.users)
	addr := strings.ToLower(strings.TrimSpace(*email))

	switch sub {
	case "add":
		return exitOK, c.addUser(ctx, t, store, addr, *username, *id, plain)
	case "check":
		return c.checkUser(ctx, t, store, addr, plain)
	default:
		return exitError, usageError(fmt.Sprintf("unknown command user %s", sub))
	}
}

func (c cli) addUser(ctx context.Context, t target, store *dynamo.Store, email, username, id, plain string) error {
	if _, err := store.AccountByEmail(ctx, email); err == nil {
		return fmt.Errorf("user add: an account with email %s exists at %s", email, t.where)
	} else if !errors.Is(err, reset.ErrUnknownAccount) {
		return t.explain(fmt.Errorf("user add: %w", err))
	}
	hasher, err := password.NewHasher(password.Algorithm(t.hashAlgo))
	if err != nil {
		return err
	}
	hash, err := hasher.Hash(plain)
	if err != nil {
		return fmt.Errorf("user add: %w", err)
	}
	if id == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		id = "u-" + hex.EncodeToString(b)
	}
	err = store.PutAccount(ctx, dynamo.NewAccount{
		ID: id, Email: email, Username: username, PasswordHash: hash, Verified: true, Enabled: true,
	})
	if err != nil {
		return t.explain(fmt.Errorf("user add: %w", err))
	}
	fmt.Fprintf(c.stdout, "added %s (id %s) to %s at %s\n", email, id, t.users.Name, t.where)
	return nil
}

// checkUser says whether plain is the account's password: exitOK when it
// is, exitMismatch when it is not or there is no such account.
func (c cli) checkUser(ctx context.Context, t target, store *dynamo.Store, email, plain string) (int, error) {
	found, err := store.AccountByEmail(ctx, email)
	if errors.Is(err, reset.ErrUnknownAccount) {
		fmt.Fprintf(c.stdout, "no account with email %s in %s at %s\n", email, t.users.Name, t.where)
		return exitMismatch, nil
	}
	if err != nil {
		return exitError, t.explain(fmt.Errorf("user check: %w", err))
	}
	// The email index holds no password hash: read the account by its key.
	acct, err := store.AccountByID(ctx, found.ID)
	if err != nil {
		return exitError, t.explain(fmt.Errorf("user check: %w", err))
	}
	ok, err := password.Verify(acct.PasswordHash, plain)
	if err != nil {
		return exitError, fmt.Errorf("user check: %w", err)
	}
	if !ok {
		fmt.Fprintf(c.stdout, "password does not match for %s\n", email)
		return exitMismatch, nil
	}
	fmt.Fprintf(c.stdout, "password matches for %s\n", email)
	return exitOK, nil
}
