package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-github/v60/github"
	"github.com/jackc/pgx/v5"

	"github.com/osprey-bot/osprey/internal/testdb"
	"github.com/osprey-bot/osprey/store"
)

func installation(updated string, selection string, suspended bool) *github.Installation {
	ts, err := time.Parse(time.RFC3339, updated)
	if err != nil {
		panic(err)
	}
	inst := &github.Installation{
		ID:                  github.Int64(1001),
		AppID:               github.Int64(99),
		Account:             &github.User{ID: github.Int64(5001), Login: github.String("acme"), Type: github.String("Organization")},
		TargetType:          github.String("Organization"),
		RepositorySelection: github.String(selection),
		UpdatedAt:           &github.Timestamp{Time: ts},
	}
	if suspended {
		inst.SuspendedAt = &github.Timestamp{Time: ts}
		inst.SuspendedBy = &github.User{Login: github.String("alice")}
	}
	return inst
}

func TestUpsertInstallationNeverMovesBackwards(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name          string
		writes        []*github.Installation
		wantSelection string
		wantSuspended bool
	}{
		{
			name:          "newer object applies",
			writes:        []*github.Installation{installation("2026-11-20T10:00:00Z", "all", false), installation("2026-11-20T11:00:00Z", "selected", true)},
			wantSelection: "selected", wantSuspended: true,
		},
		{
			name:          "older object arriving late is skipped",
			writes:        []*github.Installation{installation("2026-11-20T11:00:00Z", "selected", true), installation("2026-11-20T10:00:00Z", "all", false)},
			wantSelection: "selected", wantSuspended: true,
		},
		{
			name:          "equal updated_at applies",
			writes:        []*github.Installation{installation("2026-11-20T10:00:00Z", "all", false), installation("2026-11-20T10:00:00Z", "selected", false)},
			wantSelection: "selected",
		},
		{
			name:          "same object twice is harmless",
			writes:        []*github.Installation{installation("2026-11-20T10:00:00Z", "all", true), installation("2026-11-20T10:00:00Z", "all", true)},
			wantSelection: "all", wantSuspended: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := testdb.New(t)
			for _, inst := range tt.writes {
				err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
					return store.UpsertInstallation(ctx, tx, inst, store.ViaWebhook, time.Now())
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := store.GetInstallation(ctx, db, 1001)
			if err != nil {
				t.Fatal(err)
			}
			if got.RepositorySelection != tt.wantSelection || (got.SuspendedAt != nil) != tt.wantSuspended {
				t.Errorf("selection %q suspended %v; want %q %v", got.RepositorySelection, got.SuspendedAt != nil, tt.wantSelection, tt.wantSuspended)
			}
			if got.AccountLogin != "acme" || got.AccountType != "Organization" {
				t.Errorf("account = %q %q", got.AccountLogin, got.AccountType)
			}
		})
	}
}

func TestUpsertInstallationKeepsRicherData(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	full := installation("2026-11-20T10:00:00Z", "all", false)
	full.HTMLURL = github.String("https://github.com/organizations/acme/settings/installations/1001")
	full.Permissions = &github.InstallationPermissions{Issues: github.String("write")}
	partial := &github.Installation{ID: github.Int64(1001)} // as nested in most event payloads
	for _, inst := range []*github.Installation{full, partial} {
		if err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
			return store.UpsertInstallation(ctx, tx, inst, store.ViaWebhook, time.Now())
		}); err != nil {
			t.Fatal(err)
		}
	}
	var login, htmlURL, issues string
	var webhookAt, apiAt, replicatedAt *time.Time
	err := db.QueryRow(ctx, `SELECT account_login, data->>'html_url', permissions->>'issues',
		last_replicated_via_webhook_at, last_replicated_via_api_at, last_replicated_at FROM installations WHERE id = 1001`).
		Scan(&login, &htmlURL, &issues, &webhookAt, &apiAt, &replicatedAt)
	if err != nil {
		t.Fatal(err)
	}
	if login != "acme" || htmlURL == "" || issues != "write" {
		t.Errorf("a partial object erased fields: login %q html_url %q issues %q", login, htmlURL, issues)
	}
	if webhookAt == nil || apiAt != nil || replicatedAt == nil || !replicatedAt.Equal(*webhookAt) {
		t.Errorf("replication stamps: webhook %v api %v last %v", webhookAt, apiAt, replicatedAt)
	}
}

func TestInstallationRepositoriesAndDeletion(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	repo := func(id int64, name string) *github.Repository {
		return &github.Repository{ID: github.Int64(id), FullName: github.String("acme/" + name), Private: github.Bool(false)}
	}
	now := time.Now()
	steps := []struct {
		name string
		fn   func(tx pgx.Tx) error
		want []string
	}{
		{"created with two repositories", func(tx pgx.Tx) error {
			if err := store.UpsertInstallation(ctx, tx, installation("2026-11-20T10:00:00Z", "selected", false), store.ViaWebhook, now); err != nil {
				return err
			}
			return store.AddInstallationRepositories(ctx, tx, 1001, []*github.Repository{repo(1, "widgets"), repo(2, "gadgets")}, now)
		}, []string{"acme/gadgets", "acme/widgets"}},
		{"one removed", func(tx pgx.Tx) error {
			return store.RemoveInstallationRepositories(ctx, tx, 1001, []*github.Repository{repo(2, "gadgets")}, now)
		}, []string{"acme/widgets"}},
		{"removed one added back, added twice", func(tx pgx.Tx) error {
			if err := store.AddInstallationRepositories(ctx, tx, 1001, []*github.Repository{repo(2, "gadgets")}, now); err != nil {
				return err
			}
			return store.AddInstallationRepositories(ctx, tx, 1001, []*github.Repository{repo(2, "gadgets")}, now)
		}, []string{"acme/gadgets", "acme/widgets"}},
		{"installation deleted", func(tx pgx.Tx) error {
			return store.DeleteInstallation(ctx, tx, 1001, now)
		}, []string{}},
	}
	for _, step := range steps {
		if err := pgx.BeginFunc(ctx, db, step.fn); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		got, err := store.GetInstallation(ctx, db, 1001)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Repositories, step.want) {
			t.Errorf("%s: repositories %v, want %v", step.name, got.Repositories, step.want)
		}
		if deleted := got.DeletedAt != nil; deleted != (step.name == "installation deleted") {
			t.Errorf("%s: deleted = %v", step.name, deleted)
		}
	}
}
