package cmd

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/server"
)

// defaultGCPercent is the GOGC osprey serve runs with unless GOGC is set.
const defaultGCPercent = 200

func newServeCmd(b Build, load func() (server.Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the server: webhook intake, workers, health and metrics (applies pending migrations first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			logger := cfg.NewLogger(os.Stderr)
			if _, set := os.LookupEnv("GOGC"); !set {
				// osprey's live heap is small and its hot path allocates a
				// copy or two of every payload: collecting half as often
				// costs little memory and gives intake 10-20% more room.
				debug.SetGCPercent(defaultGCPercent)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()

			srv, err := server.New(ctx, cfg, logger, server.Options{Version: b.Version, AppManifest: b.AppManifest})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.Address)
			if err != nil {
				srv.Close()
				return fmt.Errorf("address (OSPREY_ADDRESS): %w", err)
			}
			return srv.Serve(ctx, ln)
		},
	}
}
