package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sesamego/sesame/store"
)

// sizeBuckets are the upper bounds (exclusive) of the size histogram of
// stats; the last bucket is unbounded.
var sizeBuckets = []int{256, 1 << 10, 4 << 10, 16 << 10, 64 << 10}

// stats is the JSON output of the stats command.
type stats struct {
	Sessions   int          `json:"sessions"`
	WithUser   int          `json:"with_user"`
	Anonymous  int          `json:"anonymous"`
	Users      int          `json:"users"`
	TotalBytes int          `json:"total_bytes"`
	Size       sizeSummary  `json:"size"`
	Buckets    []sizeBucket `json:"size_buckets"`
	Oldest     *oldest      `json:"oldest"`
	TopUsers   []userCount  `json:"top_users"`
}

type sizeSummary struct {
	Min    int `json:"min"`
	Median int `json:"p50"`
	P90    int `json:"p90"`
	P99    int `json:"p99"`
	Max    int `json:"max"`
}

type sizeBucket struct {
	// Below is the bucket's exclusive upper bound in bytes; 0 for the last,
	// unbounded, bucket.
	Below int `json:"below,omitempty"`
	Count int `json:"count"`
}

type oldest struct {
	Hash    string    `json:"hash"`
	User    string    `json:"user"`
	Created time.Time `json:"created"`
}

type userCount struct {
	User     string `json:"user"`
	Sessions int    `json:"sessions"`
}

func setupStats(c *cli, fs *flag.FlagSet) func(context.Context, []string) error {
	sf := c.addStoreFlags(fs, 0) // reads every session
	top := fs.Int("top", 10, "show the `N` users with the most sessions")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usageErr("unexpected argument %q", args[0])
		}
		if *top < 0 {
			return usageErr("--top must not be negative")
		}
		return c.withStore(ctx, sf, func(ctx context.Context, o *opened) error {
			l, err := capability[store.Lister](o, "list sessions")
			if err != nil {
				return err
			}
			st := stats{Buckets: make([]sizeBucket, len(sizeBuckets)+1), TopUsers: []userCount{}}
			for i, b := range sizeBuckets {
				st.Buckets[i].Below = b
			}
			var sizes []int
			users := map[string]int{}
			err = l.List(ctx, func(e store.Entry) error {
				r := e.Record
				if store.IsTombstone(r) {
					return nil // a session ended a moment ago, not a live one
				}
				size := store.Size(r.Values)
				sizes = append(sizes, size)
				st.Sessions++
				st.TotalBytes += size
				st.Buckets[bucketOf(size)].Count++
				if r.UserID == "" {
					st.Anonymous++
				} else {
					st.WithUser++
					users[r.UserID]++
				}
				if st.Oldest == nil || r.Created.Before(st.Oldest.Created) ||
					r.Created.Equal(st.Oldest.Created) && e.Key < st.Oldest.Hash {
					st.Oldest = &oldest{Hash: e.Key, User: r.UserID, Created: r.Created.UTC()}
				}
				return nil
			})
			if err != nil {
				return err
			}
			st.Users = len(users)
			if len(sizes) > 0 {
				slices.Sort(sizes)
				st.Size = sizeSummary{
					Min: sizes[0], Median: percentile(sizes, 50), P90: percentile(sizes, 90),
					P99: percentile(sizes, 99), Max: sizes[len(sizes)-1],
				}
			}
			ids := slices.SortedFunc(maps.Keys(users), func(a, b string) int {
				return cmp.Or(cmp.Compare(users[b], users[a]), strings.Compare(a, b))
			})
			for _, id := range ids[:min(*top, len(ids))] {
				st.TopUsers = append(st.TopUsers, userCount{id, users[id]})
			}
			if sf.json {
				return writeJSON(c.stdout, st)
			}
			return c.printStats(st)
		})
	}
}

func bucketOf(size int) int {
	for i, b := range sizeBuckets {
		if size < b {
			return i
		}
	}
	return len(sizeBuckets)
}

// percentile returns the p-th percentile of sorted by the nearest-rank
// method.
func percentile(sorted []int, p int) int {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

func (c *cli) printStats(st stats) error {
	w := c.stdout
	if st.Sessions == 0 {
		_, err := fmt.Fprintln(w, "no sessions")
		return err
	}
	tw := table(w)
	fmt.Fprintf(tw, "sessions\t%d (%d with a user, %d anonymous)\n", st.Sessions, st.WithUser, st.Anonymous)
	fmt.Fprintf(tw, "users\t%d\n", st.Users)
	fmt.Fprintf(tw, "total size\t%s\n", formatSize(st.TotalBytes))
	fmt.Fprintf(tw, "size\tmin %s, median %s, p90 %s, p99 %s, max %s\n",
		formatSize(st.Size.Min), formatSize(st.Size.Median), formatSize(st.Size.P90),
		formatSize(st.Size.P99), formatSize(st.Size.Max))
	if o := st.Oldest; o != nil {
		fmt.Fprintf(tw, "oldest\t%s, created %s (%s), user %s\n",
			shortHash(o.Hash), c.formatTime(o.Created), c.ago(o.Created), orDash(printable(o.User)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w, "\nsize distribution:")
	most := 0
	for _, b := range st.Buckets {
		most = max(most, b.Count)
	}
	tw = table(w)
	lower := 0
	for _, b := range st.Buckets {
		label := fmt.Sprintf("%s and more", formatSize(lower))
		if b.Below != 0 {
			label = fmt.Sprintf("%s to %s", formatSize(lower), formatSize(b.Below))
			lower = b.Below
		}
		bar := ""
		if most > 0 {
			bar = strings.Repeat("#", (40*b.Count+most-1)/most)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", label, b.Count, bar)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	if len(st.TopUsers) > 0 {
		fmt.Fprintln(w, "\nusers with the most sessions:")
		tw = table(w)
		for _, u := range st.TopUsers {
			fmt.Fprintf(tw, "  %s\t%d\n", cut(printable(u.User), 40), u.Sessions)
		}
		return tw.Flush()
	}
	return nil
}
