// Command postgres-receiver is a reference receiver of passreset's account
// hook (pkg/webhook) that keeps the users in PostgreSQL. It serves package
// receiver, which holds the handler and the schema (receiver/schema.sql). A
// team runs it as it is, or reads it to write its own; README.md says how.
//
// Settings, from the environment:
//
//	DATABASE_URL    the PostgreSQL connection string (required)
//	WEBHOOK_SECRET  the whsec_... secret shared with passreset (required);
//	                two, space-separated, while rotating
//	LISTEN_ADDR     where to listen; default :8080
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passreset/passreset/examples/postgres-receiver/receiver"
	"github.com/passreset/passreset/pkg/webhook"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "postgres-receiver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	dsn := getenv("DATABASE_URL")
	if dsn == "" {
		return errors.New("DATABASE_URL is not set")
	}
	var secrets []webhook.Secret
	for _, s := range strings.Fields(getenv("WEBHOOK_SECRET")) {
		secret, err := webhook.ParseSecret(s)
		if err != nil {
			return fmt.Errorf("WEBHOOK_SECRET: %w", err)
		}
		secrets = append(secrets, secret)
	}
	if len(secrets) == 0 {
		return errors.New("WEBHOOK_SECRET is not set")
	}
	addr := getenv("LISTEN_ADDR")
	if addr == "" {
		addr = ":8080"
	}

	db, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return fmt.Errorf("DATABASE_URL: %w", err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		return fmt.Errorf("connect to the database: %w", err)
	}

	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv := &http.Server{
		Addr:              addr,
		Handler:           receiver.New(db, secrets, time.Now, log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("listening", "addr", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
