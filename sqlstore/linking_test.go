package sqlstore

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// The drivers, by the import path of their packages.
var driverPaths = map[Dialect]string{
	Postgres: "github.com/jackc/pgx/v5",
	MySQL:    "github.com/go-sql-driver/mysql",
	SQLite:   "modernc.org/sqlite",
}

// TestEnginesLinkOnlyTheirDriver asks the go command what a program
// importing sqlstore, or one engine package, links: the core links no
// driver (nothing outside the standard library but sesame's own packages),
// and each engine package links its driver and no other.
func TestEnginesLinkOnlyTheirDriver(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not in PATH (%v): cannot list what the packages link", err)
	}
	const core = "github.com/sesamego/sesame/sqlstore"
	deps := func(t *testing.T, pkg string) (all, nonStd []string) {
		t.Helper()
		cmd := exec.Command(goCmd, "list", "-deps", "-f", "{{.Standard}} {{.ImportPath}}", pkg)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
		}
		for line := range strings.Lines(string(out)) {
			std, path, _ := strings.Cut(strings.TrimSpace(line), " ")
			all = append(all, path)
			if std != "true" {
				nonStd = append(nonStd, path)
			}
		}
		return all, nonStd
	}

	t.Run("core", func(t *testing.T) {
		all, nonStd := deps(t, core)
		t.Logf("%s links %d packages, %d outside the standard library", core, len(all), len(nonStd))
		for _, p := range nonStd {
			if !strings.HasPrefix(p, "github.com/sesamego/sesame/") {
				t.Errorf("the core links %s, want only the standard library and sesame's packages", p)
			}
		}
	})
	for _, d := range []Dialect{Postgres, MySQL, SQLite} {
		t.Run(d.String(), func(t *testing.T) {
			pkg := d.enginePath()
			all, nonStd := deps(t, pkg)
			t.Logf("%s links %d packages, %d outside the standard library", pkg, len(all), len(nonStd))
			for other, driver := range driverPaths {
				linked := false
				for _, p := range nonStd {
					if p == driver || strings.HasPrefix(p, driver+"/") {
						linked = true
						break
					}
				}
				switch {
				case other == d && !linked:
					t.Errorf("%s does not link its driver %s", pkg, driver)
				case other != d && linked:
					t.Errorf("%s links the %v driver %s", pkg, other, driver)
				}
			}
		})
	}
}
