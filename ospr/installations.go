package ospr

import (
	"context"
	"errors"
	"fmt"

	"github.com/palantir/go-githubapp/githubapp"
)

// RESTForOwner is GitHub through the installation of the app on owner; the
// error wraps ErrNoInstallation when the app is not installed there.
func RESTForOwner(ctx context.Context, clients githubapp.ClientCreator, owner string) (RESTGitHub, error) {
	appClient, err := clients.NewAppClient()
	if err != nil {
		return RESTGitHub{}, fmt.Errorf("creating the app client: %w", err)
	}
	inst, err := githubapp.NewInstallationsService(appClient).GetByOwner(ctx, owner)
	var missing githubapp.InstallationNotFound
	if errors.As(err, &missing) {
		return RESTGitHub{}, fmt.Errorf("the app is not installed on %s: %w", owner, ErrNoInstallation)
	}
	if err != nil {
		return RESTGitHub{}, fmt.Errorf("finding the app's installation on %s: %w", owner, err)
	}
	client, err := clients.NewInstallationClient(inst.ID)
	if err != nil {
		return RESTGitHub{}, fmt.Errorf("creating the client of installation %d: %w", inst.ID, err)
	}
	return RESTGitHub{Client: client}, nil
}

// RepoFileReaderFor reads files of any repository whose owner installed the
// app, through that installation's client (and so its ETag cache): how
// data files named github:OWNER/REPO/PATH are read.
func RepoFileReaderFor(clients githubapp.ClientCreator) RepoFileReader {
	return func(ctx context.Context, owner, repo, path string) ([]byte, error) {
		gh, err := RESTForOwner(ctx, clients, owner)
		if err != nil {
			return nil, err
		}
		data, found, err := gh.File(ctx, owner, repo, path)
		if err == nil && !found {
			err = fmt.Errorf("%s/%s has no file %s", owner, repo, path)
		}
		return data, err
	}
}
