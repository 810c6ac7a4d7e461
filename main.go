// Command osprey is a GitHub App that triages outside contributions and
// replicates GitHub into Postgres. See README.md.
package main

import (
	_ "embed"
	"os"

	"github.com/osprey-bot/osprey/cmd"
)

// appManifest is the GitHub App manifest that setup mode registers.
//
//go:embed app.yml
var appManifest []byte

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

func main() {
	os.Exit(cmd.Execute(cmd.Build{Version: version, AppManifest: appManifest}))
}
