// Command wacloud-ferretdb runs FerretDB v1 (MongoDB wire protocol on SQLite or PostgreSQL) embedded in a tiny main.
//
// `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.x` panics at start (missing version.txt,
// FerretDB issue #2982); embedding the library avoids that. Used only as test infrastructure and by the
// embedded `make start` mode when no mongod is available.
//
// Usage: wacloud-ferretdb -listen 127.0.0.1:27017 -dir /path/to/data           (SQLite files in a directory)
//
//	wacloud-ferretdb -listen 127.0.0.1:27017 -postgresql-url postgres://127.0.0.1:5432/db (PostgreSQL)
//
// FerretDB is built with wacloud-pushdown.patch (scripts/tools.sh applies it to the module's source): with PostgreSQL
// and -pushdown (the default), a find sorted by top-level fields is ordered by PostgreSQL through the collection's
// indexes and read in growing chunks, and $and, $or, ranges on dates / strings and literal regular expressions are
// filtered in SQL, so a page of a large collection reads a page of rows instead of the whole collection
// (docs/embedded-database.md).
//
// With PostgreSQL, FerretDB v1 passes each client's PLAIN credentials on to PostgreSQL (a pool per user), so
// PostgreSQL's roles and grants decide what a client may read and write; the URL carries no credentials then.
// It prints "ready mongodb://HOST:PORT/" on stdout once it accepts connections and stops on SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on (host:port)")
	dir := flag.String("dir", "", "directory for the SQLite databases (the sqlite handler)")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL (the postgresql handler instead of sqlite)")
	pushdown := flag.Bool("pushdown", true, "with PostgreSQL: push sorts, ranges, $and/$or and literal regexes down (wacloud-pushdown.patch)")
	flag.Parse()
	cfg := &ferretdb.Config{Listener: ferretdb.ListenerConfig{TCP: *listen}}
	switch {
	case *pgURL != "":
		cfg.Handler = "postgresql"
		cfg.PostgreSQLURL = *pgURL
		cfg.SortPushdown = *pushdown
	case *dir != "":
		abs, err := filepath.Abs(*dir)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			log.Fatal(err)
		}
		cfg.Handler = "sqlite"
		cfg.SQLiteURL = "file:" + abs + "/"
	default:
		log.Fatal("-dir or -postgresql-url is required")
	}
	// A document read or written allocates many small objects (sjson's decoding); the default GOGC=100 spent ~30% of
	// a query's CPU in the collector. 400 trades a few MB of heap for it; GOGC in the environment still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	// WACLOUD_FERRETDB_PPROF=127.0.0.1:6061 serves Go's profiles (/debug/pprof/) there, to see where FerretDB's time goes.
	if a := os.Getenv("WACLOUD_FERRETDB_PPROF"); a != "" {
		go func() { log.Println(http.ListenAndServe(a, nil)) }()
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	// Wait until the port accepts connections before announcing readiness.
	for i := 0; i < 200; i++ {
		c, err := net.DialTimeout("tcp", *listen, 100*time.Millisecond)
		if err == nil {
			c.Close()
			fmt.Printf("ready mongodb://%s/\n", *listen)
			break
		}
		select {
		case err := <-done:
			log.Fatalf("ferretdb stopped: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if err := <-done; err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}
