package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/server"
	"github.com/osprey-bot/osprey/store"
)

func newMigrateCmd(load func() (server.Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:       "migrate [up|status]",
		Short:     "Apply pending migrations of osprey's and River's tables (up, the default), or show where the database stands",
		Args:      cobra.MatchAll(cobra.MaximumNArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"up", "status"},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			pool, err := store.Open(ctx, cfg.DatabaseURL, 2)
			if err != nil {
				return err
			}
			defer pool.Close()
			if len(args) == 0 || args[0] == "up" {
				if err := store.Migrate(ctx, pool); err != nil {
					return err
				}
			}
			state, err := store.Migrations(ctx, pool)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "osprey tables: version %d of %d\n", state.OspreyCurrent, state.OspreyLatest)
			fmt.Fprintf(out, "river tables:  version %d of %d\n", state.RiverCurrent, state.RiverLatest)
			if state.Current() {
				fmt.Fprintln(out, "the database is up to date")
			} else {
				fmt.Fprintln(out, "migrations are pending: run `osprey migrate up`")
			}
			return nil
		},
	}
}
