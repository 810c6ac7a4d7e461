package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/osprey-bot/osprey/ghclient"
	"github.com/osprey-bot/osprey/jiramap"
	"github.com/osprey-bot/osprey/ospr"
	"github.com/osprey-bot/osprey/server"
)

func newJiraCmd(b Build, load func() (server.Config, error)) *cobra.Command {
	cmd := &cobra.Command{Use: "jira", Short: "Inspect the Jira configuration"}
	var repo string
	check := &cobra.Command{
		Use:   "check [--repo OWNER/REPO]",
		Short: "Validate the Jira servers file and every mapping file, and prove each server's credentials",
		Long: `Read the servers file (jira.servers) and every mapping file it names, call each
server's "myself" endpoint to prove its credentials, and with --repo print which
project and issue type each nickname would use for that repository. It exits
non-zero when anything is wrong. Tokens are never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if repo != "" {
				if owner, name, ok := strings.Cut(repo, "/"); !ok || owner == "" || name == "" || strings.Contains(name, "/") {
					return fmt.Errorf("--repo %q is not OWNER/REPO", repo)
				}
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			if cfg.Jira.Servers == "" {
				return errors.New("jira.servers (OSPREY_JIRA_SERVERS) is not set: there is no Jira configuration to check")
			}
			var reader ospr.RepoFileReader
			if !cfg.SetupMode() {
				clients, err := ghclient.NewCreator(cfg.GitHub.Config, ghclient.Options{UserAgent: "osprey/" + b.Version,
					Timeout: cfg.GitHub.Timeout, CacheBytes: cfg.GitHub.CacheBytes, Metrics: ghclient.NewMetrics(prometheus.NewRegistry())})
				if err != nil {
					return err
				}
				reader = ospr.RepoFileReaderFor(clients)
			}
			loader := ospr.NewJiraLoader(ospr.DataSource(cfg.Jira.Servers), nil, reader, os.LookupEnv, cfg.NewLogger(io.Discard))
			problems := checkJira(cmd.Context(), cmd.OutOrStdout(), loader, cfg, repo)
			if problems > 0 {
				return fmt.Errorf("%d problem(s) in the Jira configuration", problems)
			}
			return nil
		},
	}
	check.Flags().StringVar(&repo, "repo", "", "also show which project and issue type each nickname uses for OWNER/REPO")
	cmd.AddCommand(check)
	return cmd
}

// checkJira prints what it finds and returns how many problems.
func checkJira(ctx context.Context, out io.Writer, loader *ospr.JiraLoader, cfg server.Config, repo string) int {
	problems := 0
	if err := loader.Reload(ctx); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(out, "problem: %s\n", e)
			problems++
		}
	}
	jc := loader.Config()
	for _, nick := range jc.Nicks() {
		srv, _ := jc.Servers.Lookup(nick)
		client, err := jiramap.NewClient(srv, http.DefaultTransport, cfg.Jira.Timeout)
		status := ""
		if err == nil {
			var name string
			if name, err = client.Myself(ctx); err == nil {
				status = "credentials work (" + name + ")"
			}
		}
		if err != nil {
			status = "credentials FAIL: " + err.Error()
			problems++
		}
		fmt.Fprintf(out, "%s: %s\n", srv, status)
		if repo == "" {
			continue
		}
		_, target, err := jc.Resolve(nick, repo)
		switch {
		case errors.Is(err, ospr.ErrNoJiraMapping):
			fmt.Fprintf(out, "  %s: not mapped (a jira:%s label gets the no-mapping comment)\n", repo, srv.Nick)
		case err != nil:
			fmt.Fprintf(out, "  %s: %v\n", repo, err)
		default:
			fmt.Fprintf(out, "  %s: project %s, issue type %s\n", repo, target.Project, target.Type)
		}
	}
	return problems
}
