package filestore

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sesamego/sesame/store"
	"github.com/sesamego/sesame/storetest"
)

// The tests below run this test binary again as a child process that uses
// the store: a writer to kill mid-write, or one of several processes
// incrementing one record.
const (
	helperEnv = "FILESTORE_TEST_HELPER" // "writer" or "incr"
	dirEnv    = "FILESTORE_TEST_DIR"
	keyEnv    = "FILESTORE_TEST_KEY"
	idEnv     = "FILESTORE_TEST_ID"
)

// TestHelperProcess is not a test: it is the child process.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("the child process of other tests")
	}
	s, err := New(os.Getenv(dirEnv))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	switch mode {
	case "writer":
		// Say when a file is half written and dwell there, so that the
		// parent can kill the writer then: a store that wrote in place
		// would leave a torn record.
		s.midWrite = func() {
			fmt.Println("half")
			time.Sleep(20 * time.Millisecond)
		}
		writeForever(ctx, s)
	case "incr":
		key, id := os.Getenv(keyEnv), os.Getenv(idEnv)
		for i := range 50 {
			c := store.Change{Incr: map[string]int64{"n": 1}, Set: map[string][]byte{fmt.Sprintf("p%s-%02d", id, i): []byte("1")}}
			if err := s.Apply(ctx, key, c); err != nil {
				fmt.Println("error:", err)
				os.Exit(2)
			}
		}
	}
	os.Exit(0)
}

// writeForever creates, updates, renames and deletes records of up to 300
// KB, each with a checksum of its payload. Before each operation it prints
// "begin OP KEY..." and after it returned "done", so that the parent knows
// which operations completed and which one was under way when it was killed
// (and the store says "half" in the middle of writing a file).
func writeForever(ctx context.Context, s *Store) {
	out := bufio.NewWriter(os.Stdout)
	say := func(line string) {
		fmt.Fprintln(out, line)
		out.Flush()
	}
	var keys []string
	for i := 0; ; i++ {
		payload := storetest.RandomJSON(1000 + rand.IntN(300_000))
		if i%3 == 0 { // compressible too
			payload = []byte(`"` + strings.Repeat("abc", rand.IntN(100_000)) + `"`)
		}
		sum := sha256.Sum256(payload)
		set := map[string][]byte{"payload": payload, "sum": []byte(`"` + hex.EncodeToString(sum[:]) + `"`)}
		incr := map[string]int64{"writes": 1}
		var err error
		switch {
		case len(keys) < 5 || i%4 == 0:
			key := storetest.NewKey()
			say("begin create " + key)
			err = s.Apply(ctx, key, store.Change{Create: true, Set: set, Incr: incr, Expires: time.Now().Add(time.Hour)})
			keys = append(keys, key)
		case i%4 == 1:
			key := keys[rand.IntN(len(keys))]
			say("begin update " + key)
			err = s.Apply(ctx, key, store.Change{Set: set, Incr: incr})
		case i%4 == 2:
			j := rand.IntN(len(keys))
			key := storetest.NewKey()
			say("begin rename " + keys[j] + " " + key)
			err = s.Rename(ctx, keys[j], key, store.Change{Set: set, Incr: incr})
			keys[j] = key
		default:
			j := rand.IntN(len(keys))
			say("begin delete " + keys[j])
			err = s.Delete(ctx, keys[j])
			keys[j] = keys[len(keys)-1]
			keys = keys[:len(keys)-1]
		}
		if err != nil {
			say("error: " + err.Error())
			os.Exit(2)
		}
		say("done")
	}
}

func helper(t *testing.T, mode, dir string, env ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), append(env, helperEnv+"="+mode, dirEnv+"="+dir)...)
	return cmd
}

func TestAKilledWriterLeavesEveryRecordReadable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills child processes")
	}
	dir := t.TempDir()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	exists := func(key string) bool {
		t.Helper()
		rec, ok, err := s.Load(t.Context(), key)
		if err != nil {
			t.Fatalf("record %s: %v", key, err)
		}
		if ok {
			sum := sha256.Sum256(rec.Values["payload"])
			if want := `"` + hex.EncodeToString(sum[:]) + `"`; string(rec.Values["sum"]) != want {
				t.Errorf("record %s: got a payload that does not match its checksum", key)
			}
		}
		return ok
	}
	model := make(map[string]bool) // what completed operations left
	midWrite := 0
	for round := range 8 {
		cmd := helper(t, "writer", dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill it after a random number of operations: in even rounds
		// when it has half written a file, in odd rounds at a random
		// moment of the next operation.
		lines := bufio.NewScanner(stdout)
		var pending []string
		apply := func(line string) {
			t.Helper()
			switch {
			case strings.HasPrefix(line, "begin "):
				pending = strings.Fields(line)[1:]
			case line == "half":
			case line == "done":
				switch pending[0] {
				case "create", "update":
					model[pending[1]] = true
				case "rename":
					model[pending[1]], model[pending[2]] = false, true
				case "delete":
					model[pending[1]] = false
				}
				pending = nil
			default:
				t.Fatalf("round %d: the writer said %q", round, line)
			}
		}
		for n := 3 + rand.IntN(15); n > 0 && lines.Scan(); {
			apply(lines.Text())
			if lines.Text() == "done" {
				n--
			}
		}
		if round%2 == 0 {
			for lines.Scan() && lines.Text() != "half" {
				apply(lines.Text())
			}
		} else {
			time.Sleep(time.Duration(rand.IntN(25)) * time.Millisecond)
		}
		if err := cmd.Process.Kill(); err != nil { // SIGKILL: no cleanup runs
			t.Fatal(err)
		}
		for lines.Scan() { // what it said before it died
			apply(lines.Text())
		}
		_ = cmd.Wait()

		// The operation under way may or may not have taken effect, but a
		// rename moved the record or did not: exactly one key has it.
		if pending != nil {
			midWrite++
			switch pending[0] {
			case "create", "delete":
				model[pending[1]] = exists(pending[1])
			case "update":
				if !exists(pending[1]) {
					t.Errorf("round %d: got the record of an interrupted update gone, want it", round)
				}
			case "rename":
				a, b := exists(pending[1]), exists(pending[2])
				if a == b {
					t.Errorf("round %d: an interrupted rename left the record under %v of its keys, want exactly one", round, map[bool]string{true: "both", false: "neither"}[a])
				}
				model[pending[1]], model[pending[2]] = a, b
			}
		}
		for key, want := range model {
			if got := exists(key); got != want {
				t.Errorf("round %d: record %s: got present %v, want %v", round, key, got, want)
			}
		}
	}
	temps, _ := filepath.Glob(filepath.Join(dir, "*", tempPrefix+"*"))
	t.Logf("%d of 8 writers killed mid-operation, %d temporary files left", midWrite, len(temps))
	if len(temps) == 0 {
		// Without half-written files the test would prove nothing.
		t.Error("got no writer killed with a file half written, want four")
	}

	// Every file in the directory is a readable record, a lock, or a
	// temporary file that is never taken for a record.
	records := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch name := d.Name(); {
		case store.ValidKey(name):
			records++
			if !exists(name) {
				t.Errorf("record file %s: got no record, want one", name)
			}
		case strings.HasPrefix(name, tempPrefix):
		default:
			t.Errorf("got unexpected file %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if records == 0 {
		t.Fatal("got no records, want the writers' records")
	}
	if err := s.List(t.Context(), func(store.Entry) error { return nil }); err != nil {
		t.Errorf("List: %v", err)
	}
	if _, err := s.Prune(t.Context()); err != nil {
		t.Errorf("Prune: %v", err)
	}
}

func TestProcessesSharingADirectoryMergeTheirChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	if !crossProcess {
		t.Skip("no flock on this platform")
	}
	dir := t.TempDir()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	key := storetest.NewKey()
	if err := s.Apply(t.Context(), key, store.Change{Create: true, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	const procs = 4
	var wg sync.WaitGroup
	for p := range procs {
		wg.Go(func() {
			out, err := helper(t, "incr", dir, keyEnv+"="+key, idEnv+"="+fmt.Sprint(p)).CombinedOutput()
			if err != nil {
				t.Errorf("process %d: %v\n%s", p, err, out)
			}
		})
	}
	// And this process writes at the same time.
	for i := range 50 {
		c := store.Change{Incr: map[string]int64{"n": 1}, Set: map[string][]byte{fmt.Sprintf("parent-%02d", i): []byte("1")}}
		if err := s.Apply(t.Context(), key, c); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	rec, ok, err := s.Load(t.Context(), key)
	if err != nil || !ok {
		t.Fatalf("got %v, %v, want the record", ok, err)
	}
	if got, want := string(rec.Values["n"]), fmt.Sprint((procs+1)*50); got != want {
		t.Errorf("got n = %s, want %s", got, want)
	}
	if got, want := len(rec.Values), (procs+1)*50+1; got != want {
		t.Errorf("got %d values, want %d", got, want)
	}
}
