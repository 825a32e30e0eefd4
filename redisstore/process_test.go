package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/internal/redistest"
	"github.com/sesamego/sesame/store"
)

// The child process: TestMain runs runChild instead of the tests when
// childEnv is set, so a test can start a second, separate app process that
// shares Redis with it.
const (
	childEnv       = "SESAME_REDISSTORE_CHILD" // the action: create, read, incr
	childPrefixEnv = "SESAME_REDISSTORE_CHILD_PREFIX"
	childKeyEnv    = "SESAME_REDISSTORE_CHILD_KEY"
	childCountEnv  = "SESAME_REDISSTORE_CHILD_COUNT"
)

// childReport is what the child prints on stdout.
type childReport struct {
	PID    int               `json:"pid"`
	Found  bool              `json:"found"`
	Values map[string]string `json:"values"`
	UserID string            `json:"user_id"`
	Users  []string          `json:"user_sessions"`
}

// runChild performs one action on the Store named by the environment and
// returns the exit code.
func runChild() int {
	addr := os.Getenv(redistest.AddrEnv)
	if addr == "" {
		addr = redistest.DefaultAddr
	}
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	s, err := New(client, Options{Prefix: os.Getenv(childPrefixEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx := context.Background()
	key := os.Getenv(childKeyEnv)
	report := childReport{PID: os.Getpid()}
	switch os.Getenv(childEnv) {
	case "create":
		err = s.Apply(ctx, key, store.Change{
			Create:  true,
			Set:     map[string][]byte{"written_by": []byte(`"child"`), "pid": []byte(strconv.Itoa(os.Getpid()))},
			Expires: time.Now().Add(time.Hour),
			SetUser: true, UserID: "shared-user",
		})
	case "incr":
		n, _ := strconv.Atoi(os.Getenv(childCountEnv))
		for range n {
			if err = s.Apply(ctx, key, store.Change{Incr: map[string]int64{"count": 1}}); err != nil {
				break
			}
		}
	case "read":
	default:
		err = fmt.Errorf("unknown action %q", os.Getenv(childEnv))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	rec, ok, err := s.Load(ctx, key)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	report.Found, report.UserID = ok, rec.UserID
	report.Values = make(map[string]string)
	for k, v := range rec.Values {
		report.Values[k] = string(v)
	}
	entries, err := s.UserSessions(ctx, "shared-user")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, e := range entries {
		report.Users = append(report.Users, e.Key)
	}
	json.NewEncoder(os.Stdout).Encode(report)
	return 0
}

// child starts the test binary as a child process doing action on key.
func child(t *testing.T, prefix, key, action string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		childEnv+"="+action,
		childPrefixEnv+"="+prefix,
		childKeyEnv+"="+key,
		redistest.AddrEnv+"="+redistest.Addr(t),
	)
	cmd.Env = append(cmd.Env, extra...)
	cmd.Stderr = os.Stderr
	return cmd
}

func runChildReport(t *testing.T, cmd *exec.Cmd) childReport {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	var r childReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	return r
}

// TestTwoProcesses runs a second app process (this test binary, re-executed)
// against the same Redis: each sees the other's sessions and writes, and
// their concurrent increments all count.
func TestTwoProcesses(t *testing.T) {
	s := newSingle(t, Options{})
	ctx := context.Background()
	key := newKey()

	// The child creates a session; this process sees it.
	r := runChildReport(t, child(t, s.prefix, key, "create"))
	if r.PID == os.Getpid() || !r.Found {
		t.Fatalf("child report %+v", r)
	}
	rec := mustLoad(t, s, key)
	if string(rec.Values["written_by"]) != `"child"` || string(rec.Values["pid"]) != strconv.Itoa(r.PID) || rec.UserID != "shared-user" {
		t.Errorf("parent loads %q user %q", rec.Values, rec.UserID)
	}
	users, err := s.UserSessions(ctx, "shared-user")
	if err != nil || len(users) != 1 || users[0].Key != key {
		t.Errorf("parent's UserSessions = %v, %v", users, err)
	}

	// This process writes; the child sees it.
	if err := s.Apply(ctx, key, store.Change{Set: map[string][]byte{"written_by": []byte(`"parent"`)}}); err != nil {
		t.Fatal(err)
	}
	r = runChildReport(t, child(t, s.prefix, key, "read"))
	if r.Values["written_by"] != `"parent"` || len(r.Users) != 1 || r.Users[0] != key {
		t.Errorf("child sees %+v", r)
	}

	// Both increment at once; no increment is lost.
	const each = 200
	cmd := child(t, s.prefix, key, "incr", childCountEnv+"="+strconv.Itoa(each))
	var wg sync.WaitGroup
	var childReportDone childReport
	wg.Go(func() { childReportDone = runChildReport(t, cmd) })
	for range each {
		if err := s.Apply(ctx, key, store.Change{Incr: map[string]int64{"count": 1}}); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if got := string(mustLoad(t, s, key).Values["count"]); got != strconv.Itoa(2*each) {
		t.Errorf("count = %s, want %d", got, 2*each)
	}
	if childReportDone.PID == 0 {
		t.Error("the incrementing child reported nothing")
	}
}
