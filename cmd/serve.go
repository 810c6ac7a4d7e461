package cmd

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/server"
)

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
