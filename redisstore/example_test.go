package redisstore_test

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/redis/go-redis/v9"
	"github.com/sesame-go/sesame"
	"github.com/sesame-go/sesame/redisstore"
)

// A Manager on a standalone Redis. The client is the application's: the
// store never closes it.
func Example() {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.Options{Prefix: "myapp:session:"})
	sessions := sesame.New(sesame.Config{Store: store})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /counter", func(w http.ResponseWriter, r *http.Request) {
		s := sesame.FromContext(r.Context())
		n, _ := sesame.Get[int](s, "counter") // one round trip: HGETALL
		s.Put("counter", n+1)                 // one more, at commit: a Lua script
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Handler(mux)))
}

// The same store on a Redis Cluster: only the client changes. Loading the
// scripts at start-up spares the first requests on each node a round trip.
func Example_cluster() {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"},
	})
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.Options{})
	if err := store.LoadScripts(context.Background()); err != nil {
		log.Printf("redis scripts not loaded yet: %v", err) // they load on first use
	}
	sessions := sesame.New(sesame.Config{Store: store})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Handler(http.NotFoundHandler())))
}

// A store on a managed Redis where CONFIG is disabled: the store cannot
// check the eviction policy itself, and would log a warning on its first
// use. Once the provider's setting is known to be noeviction, skip the
// check. Logger takes the store's log records (only the check's: nil is
// slog.Default()).
func ExampleOptions_managed() {
	rdb := redis.NewClient(&redis.Options{Addr: "redis.example.internal:6379"})
	defer rdb.Close()
	store := redisstore.New(rdb, redisstore.Options{
		Prefix:            "myapp:session:",
		SkipEvictionCheck: true, // maxmemory-policy noeviction, set in the provider's console
		Logger:            slog.New(slog.NewJSONHandler(os.Stderr, nil)),
	})
	sessions := sesame.New(sesame.Config{Store: store})
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", sessions.Handler(http.NotFoundHandler())))
}
