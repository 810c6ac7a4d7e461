package ospr

import (
	"context"
	"fmt"

	"github.com/palantir/go-githubapp/githubapp"
)

// RepoFileReaderFor reads files of any repository whose owner installed the
// app, through that installation's client (and so its ETag cache): how
// data files named github:OWNER/REPO/PATH are read.
func RepoFileReaderFor(clients githubapp.ClientCreator) RepoFileReader {
	return func(ctx context.Context, owner, repo, path string) ([]byte, error) {
		appClient, err := clients.NewAppClient()
		if err != nil {
			return nil, fmt.Errorf("creating the app client: %w", err)
		}
		inst, err := githubapp.NewInstallationsService(appClient).GetByOwner(ctx, owner)
		if err != nil {
			return nil, fmt.Errorf("finding the app's installation on %s: %w", owner, err)
		}
		client, err := clients.NewInstallationClient(inst.ID)
		if err != nil {
			return nil, fmt.Errorf("creating the client of installation %d: %w", inst.ID, err)
		}
		data, found, err := RESTGitHub{Client: client}.File(ctx, owner, repo, path)
		if err == nil && !found {
			err = fmt.Errorf("%s/%s has no file %s", owner, repo, path)
		}
		return data, err
	}
}
