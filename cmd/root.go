// Package cmd holds osprey's command line: one file per command.
package cmd

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/server"
)

// Build is what main knows about the binary.
type Build struct {
	Version     string // set with -ldflags; read from the module's build info when empty
	AppManifest []byte // app.yml
}

// Execute runs the command line and returns the process exit code.
func Execute(b Build) int {
	if b.Version == "" {
		b.Version = moduleVersion()
	}
	root := newRoot(b)
	if err := root.ExecuteContext(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "osprey:", err)
		return 1
	}
	return 0
}

func newRoot(b Build) *cobra.Command {
	var configPath string
	root := &cobra.Command{
		Use:           "osprey",
		Short:         "A GitHub App that triages outside contributions and replicates GitHub into Postgres",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&configPath, "config", "", "configuration file (default: ./config.yml when it exists)")
	load := func() (server.Config, error) {
		return server.LoadConfig(configPath, os.LookupEnv)
	}
	root.AddCommand(
		newServeCmd(b, load),
		newMigrateCmd(load),
		newReplayCmd(b, load),
		newConfigCmd(b, load),
		newRescanCmd(b, load),
		newBackfillCmd(b, load),
		newJiraCmd(b, load),
		newVersionCmd(b),
	)
	return root
}

func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "dev"
	}
	return info.Main.Version
}
