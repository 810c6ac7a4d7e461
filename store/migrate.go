package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLockKey is the advisory lock that serialises migrations when
// several osprey replicas start at once ("osprey" in ASCII).
const migrationLockKey = 0x6f7370726579

// MigrationState says where the database stands against the migrations built
// into this binary, for `osprey migrate status` and the readiness check.
type MigrationState struct {
	OspreyCurrent, OspreyLatest int64 // goose versions of osprey's own tables
	RiverCurrent, RiverLatest   int   // River's schema versions
}

// Current reports whether every migration has been applied.
func (s MigrationState) Current() bool {
	return s.OspreyCurrent == s.OspreyLatest && s.RiverCurrent == s.RiverLatest
}

// Migrate applies every pending migration: River's tables first (osprey's
// tables never reference them, but handlers insert jobs), then osprey's own.
// It holds an advisory lock so that replicas starting together take turns.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquiring a connection for migrations: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockKey); err != nil {
		return fmt.Errorf("taking the migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockKey) //nolint:errcheck // released with the session anyway

	riverMigrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("preparing River migrations: %w", err)
	}
	if _, err := riverMigrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("applying River migrations: %w", err)
	}

	provider, closeDB, err := gooseProvider(pool)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("applying osprey migrations: %w", err)
	}
	return nil
}

// Migrations reports the applied and latest versions of both schemas.
func Migrations(ctx context.Context, pool *pgxpool.Pool) (MigrationState, error) {
	var state MigrationState
	riverMigrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return state, fmt.Errorf("preparing River migrations: %w", err)
	}
	existing, err := riverMigrator.ExistingVersions(ctx)
	if err != nil {
		return state, fmt.Errorf("reading River's migration versions: %w", err)
	}
	if len(existing) > 0 {
		state.RiverCurrent = existing[len(existing)-1].Version
	}
	all := riverMigrator.AllVersions()
	state.RiverLatest = all[len(all)-1].Version

	provider, closeDB, err := gooseProvider(pool)
	if err != nil {
		return state, err
	}
	defer closeDB()
	state.OspreyCurrent, state.OspreyLatest, err = provider.GetVersions(ctx)
	if err != nil {
		return state, fmt.Errorf("reading osprey's migration versions: %w", err)
	}
	return state, nil
}

func gooseProvider(pool *pgxpool.Pool) (*goose.Provider, func(), error) {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, nil, fmt.Errorf("opening embedded migrations: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	provider, err := goose.NewProvider(goose.DialectPostgres, db, sub)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("preparing osprey migrations: %w", err)
	}
	return provider, func() { db.Close() }, nil
}
