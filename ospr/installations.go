package ospr

import (
	"context"
	"errors"
	"fmt"

	"github.com/palantir/go-githubapp/githubapp"
)

// NotInstalledError says the app has no installation on an owner (a
// configuration problem: it wraps ErrNoInstallation).
type NotInstalledError struct{ Owner string }

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("the app is not installed on %s (neither an organisation nor a user of that name has installed it)", e.Owner)
}

// Unwrap makes errors.Is(err, ErrNoInstallation) hold.
func (e *NotInstalledError) Unwrap() error { return ErrNoInstallation }

// InstallationOn finds the app's installation on owner, an organisation or
// a user; a *NotInstalledError when there is none.
func InstallationOn(ctx context.Context, clients githubapp.ClientCreator, owner string) (int64, error) {
	appClient, err := clients.NewAppClient()
	if err != nil {
		return 0, fmt.Errorf("creating the app client: %w", err)
	}
	inst, err := githubapp.NewInstallationsService(appClient).GetByOwner(ctx, owner)
	var missing githubapp.InstallationNotFound
	if errors.As(err, &missing) {
		return 0, &NotInstalledError{Owner: owner}
	}
	if err != nil {
		return 0, fmt.Errorf("finding the app's installation on %s: %w", owner, err)
	}
	return inst.ID, nil
}

// RESTForOwner is GitHub through the installation of the app on owner.
func RESTForOwner(ctx context.Context, clients githubapp.ClientCreator, owner string) (RESTGitHub, error) {
	id, err := InstallationOn(ctx, clients, owner)
	if err != nil {
		return RESTGitHub{}, err
	}
	client, err := clients.NewInstallationClient(id)
	if err != nil {
		return RESTGitHub{}, fmt.Errorf("creating the client of installation %d: %w", id, err)
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
