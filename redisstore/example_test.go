package redisstore_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sesamego/sesame/redisstore"
	"github.com/sesamego/sesame/store"
)

// exampleAddr is where the examples find Redis. Examples have no output to
// check, since they need a server.
const exampleAddr = "127.0.0.1:6379"

func ExampleNew() {
	client := redis.NewClient(&redis.Options{Addr: exampleAddr})
	defer client.Close()
	st, err := redisstore.New(client, redisstore.Options{Prefix: "myapp:sessions:"})
	if err != nil {
		log.Fatal(err)
	}
	// st is ready for sesame.Config{Store: st}. Stores are driven by sesame;
	// here is the contract at work.
	ctx := context.Background()
	key := store.Key("a session ID from a cookie")
	err = st.Apply(ctx, key, store.Change{
		Create:  true,
		Set:     map[string][]byte{"theme": []byte(`"dark"`)},
		Expires: time.Now().Add(2 * time.Hour),
	})
	if err != nil {
		log.Fatal(err)
	}
	rec, ok, err := st.Load(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ok, string(rec.Values["theme"]))
}

func ExampleNew_cluster() {
	client := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7000"},
	})
	defer client.Close()
	st, err := redisstore.New(client, redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	// Log out a user's other devices, wherever in the cluster their
	// sessions live.
	n, err := st.DeleteUserSessions(context.Background(), "user-42", store.Key("the current session ID"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged out", n, "other devices")
}

func ExampleOpen() {
	st, err := redisstore.Open("redis+cluster://10.0.0.1:7000,10.0.0.2:7000?dial_timeout=1s", redisstore.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close() // Open made the client, so Close closes it
	sessions, err := st.UserSessions(context.Background(), "user-42")
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range sessions {
		fmt.Println(s.Record.LastSeen, s.Record.IP, s.Record.UserAgent)
	}
}
