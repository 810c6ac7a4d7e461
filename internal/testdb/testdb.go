// Package testdb gives tests real, migrated Postgres databases.
//
// A test package calls Run from its TestMain: it creates one migrated template
// database for the package (and drops everything it created when the tests
// end). Each test then calls New for a database of its own, cloned from the
// template in a few milliseconds, so tests never see each other's rows or jobs.
//
// The server is the one at OSPREY_TEST_DATABASE_URL, by default the local
// Postgres as user postgres. If it cannot be reached the tests fail with a
// message that says so; they are never skipped.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/osprey-bot/osprey/store"
)

// DefaultURL is the server used when OSPREY_TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// The template database of this test binary (one per package), set by Run.
var (
	mu       sync.Mutex
	template string
	created  []string
)

// Run creates and migrates the package's template database, runs the tests,
// drops every database it created, and returns the exit code for os.Exit.
func Run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	name, err := createTemplate(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testdb: %v\n", err)
		fmt.Fprintf(os.Stderr, "testdb: these tests need a real Postgres: start it (see README.md) or set OSPREY_TEST_DATABASE_URL\n")
		return 1
	}
	mu.Lock()
	template = name
	mu.Unlock()

	code := m.Run()

	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	mu.Lock()
	names := append([]string{name}, created...)
	mu.Unlock()
	for _, n := range names {
		if err := drop(ctx, n); err != nil {
			fmt.Fprintf(os.Stderr, "testdb: dropping %s: %v\n", n, err)
		}
	}
	return code
}

// New returns a pool on a fresh migrated database of the test's own and its
// URL. The pool is closed and the database dropped when the test ends.
func New(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	mu.Lock()
	tmpl := template
	mu.Unlock()
	if tmpl == "" {
		t.Fatal("testdb.New: the package has no template database: call os.Exit(testdb.Run(m)) from TestMain")
	}
	ctx := context.Background()
	name := "osprey_test_" + randomSuffix()
	if err := admin(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+tmpl)
		return err
	}); err != nil {
		t.Fatalf("testdb: creating database %s: %v", name, err)
	}
	mu.Lock()
	created = append(created, name)
	mu.Unlock()

	dbURL := withDatabase(serverURL(), name)
	pool, err := store.Open(ctx, dbURL, 20)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		if err := drop(context.Background(), name); err != nil {
			t.Logf("testdb: dropping %s: %v", name, err)
		}
	})
	return pool, dbURL
}

func createTemplate(ctx context.Context) (string, error) {
	name := "osprey_tmpl_" + randomSuffix()
	if err := admin(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "CREATE DATABASE "+name)
		return err
	}); err != nil {
		return "", fmt.Errorf("creating template database: %w", err)
	}
	pool, err := store.Open(ctx, withDatabase(serverURL(), name), 4)
	if err != nil {
		return "", err
	}
	defer pool.Close()
	if err := store.Migrate(ctx, pool); err != nil {
		return "", fmt.Errorf("migrating template database: %w", err)
	}
	return name, nil
}

func drop(ctx context.Context, name string) error {
	return admin(ctx, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	})
}

func admin(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := pgx.Connect(ctx, serverURL())
	if err != nil {
		return fmt.Errorf("cannot reach Postgres at %s: %w", redacted(serverURL()), err)
	}
	defer conn.Close(ctx)
	return fn(conn)
}

func serverURL() string {
	if u := os.Getenv("OSPREY_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
